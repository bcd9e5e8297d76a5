package io.weightlab.common.lora;

/**
 * One LoRA initialisation from a weight matrix (algorithms.md §3), registered by PEFT's name in
 * {@link LoraRegistry}. {@code w} is the row-major [out, in] weight in double; {@code scaling} is s = α/r (or α/√r).
 */
public interface LoraInitializer {
    LoraFactors init(double[] w, int out, int in, int r, double scaling, long seed);

    /** Whether the residual base W − s·B·A must be written (the adapter alone reproduces W otherwise). */
    boolean changesBase();
}
