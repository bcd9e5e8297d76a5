package io.weightlab.common.lora;

import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;

/**
 * One targeted module: its weight, module path (the weight's name without ".weight"), rank, alpha and scaling.
 * {@code fanInFanOut}: the weight is stored [in, out] (GPT-2's Conv1D), PEFT's fan_in_fan_out; A and B keep PEFT's
 * [r, in] / [out, r] either way. {@code embedding}: an nn.Embedding [num_embeddings, dim], which PEFT adapts as
 * in = num_embeddings, out = dim (lora_embedding_A [r, num_embeddings], lora_embedding_B [dim, r], ΔW = (B·A)ᵀ·s).
 */
public record LoraModule(TensorInfo weight, String module, int r, double alpha, double scaling, boolean fanInFanOut,
                         boolean embedding) implements Serializable {
    public LoraModule(TensorInfo weight, String module, int r, double alpha, double scaling, boolean fanInFanOut) {
        this(weight, module, r, alpha, scaling, fanInFanOut, false);
    }

    /** An nn.Embedding's adapter: rank, alpha and scaling as for a linear module, PEFT's embedding keys and shapes. */
    public static LoraModule embedding(TensorInfo weight, String module, int r, double alpha) {
        return new LoraModule(weight, module, r, alpha, alpha / r, false, true);
    }

    private boolean storedTransposed() { return fanInFanOut || embedding; }

    public int out() { return (int) weight.dim(storedTransposed() ? 1 : 0); }

    public int in() { return (int) weight.dim(storedTransposed() ? 0 : 1); }

    public LoraModule withRank(int rank, double newAlpha) {
        return new LoraModule(weight, module, rank, newAlpha, newAlpha / rank, fanInFanOut, embedding);
    }

    /** [out, in] as the initialisers expect; a Conv1D weight or an embedding (stored [in, out]) is transposed, as PEFT does. */
    public double[] linearOrder(double[] v) {
        if (!storedTransposed()) return v;
        int in = in(), out = out();
        double[] t = new double[v.length];
        for (int i = 0; i < in; i++) for (int j = 0; j < out; j++) t[j * in + i] = v[i * out + j];
        return t;
    }

    /** Every value of {@code t} in double, refusing NaN/Inf: a decomposition of such a matrix is meaningless. */
    public static double[] readFinite(io.weightlab.common.io.RangeReader reader, TensorInfo t) {
        double[] values = io.weightlab.common.io.TensorValues.read(reader, t, 0, t.elementCount(), null);
        for (double v : values) if (!Double.isFinite(v)) throw nonFinite(t);
        return values;
    }

    public static io.weightlab.common.error.UsageException nonFinite(TensorInfo t) {
        return new io.weightlab.common.error.UsageException(t.file() + ": '" + t.name() + "' holds NaN/Inf; a decomposition of it is meaningless (rule: FiniteValues)");
    }

    /** PEFT's adapter keys: the adapter name stripped, "base_model.model." in front (an embedding's are bare parameters). */
    public String keyA() { return "base_model.model." + module + (embedding ? ".lora_embedding_A" : ".lora_A.weight"); }

    public String keyB() { return "base_model.model." + module + (embedding ? ".lora_embedding_B" : ".lora_B.weight"); }
}
