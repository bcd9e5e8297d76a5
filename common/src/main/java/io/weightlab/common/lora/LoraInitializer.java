package io.weightlab.common.lora;

/**
 * One LoRA initialisation of one module (docs/algorithms.md §3), registered by PEFT's name in {@link LoraRegistry}.
 * {@code scaling} is s = α/r (or α/√r); {@code seed} is already specific to the module.
 */
public interface LoraInitializer {
    LoraFactors init(ModuleData d, int r, double scaling, long seed);

    /** Whether the residual base W − s·B·A must be written (the adapter alone reproduces W otherwise). */
    boolean changesBase();

    /** Whether {@link ModuleData#weight()} is read (the executor skips reading W when not). */
    default boolean needsWeight() { return true; }

    /** Whether {@link ModuleData#gradient()} is read: the job then requires {@code --gradients}. */
    default boolean needsGradient() { return false; }

    /** Reads W only as float32 (its products are float32): a job may hand it {@link ModuleData#weightF32()} instead of doubles. */
    default boolean float32Weight() { return false; }
}
