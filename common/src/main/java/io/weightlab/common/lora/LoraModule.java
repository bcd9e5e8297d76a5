package io.weightlab.common.lora;

import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;

/**
 * One targeted module: its weight, module path (the weight's name without ".weight"), rank, alpha and scaling.
 * {@code fanInFanOut}: the weight is stored [in, out] (GPT-2's Conv1D), PEFT's fan_in_fan_out; A and B keep PEFT's
 * [r, in] / [out, r] either way.
 */
public record LoraModule(TensorInfo weight, String module, int r, double alpha, double scaling, boolean fanInFanOut) implements Serializable {
    public int out() { return (int) weight.dim(fanInFanOut ? 1 : 0); }

    public int in() { return (int) weight.dim(fanInFanOut ? 0 : 1); }

    public LoraModule withRank(int rank, double newAlpha) {
        return new LoraModule(weight, module, rank, newAlpha, newAlpha / rank, fanInFanOut);
    }

    /** [out, in] as the initialisers expect; a Conv1D weight (stored [in, out]) is transposed, as PEFT does for fan_in_fan_out. */
    public double[] linearOrder(double[] v) {
        if (!fanInFanOut) return v;
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

    /** PEFT's adapter keys: the adapter name stripped, "base_model.model." in front. */
    public String keyA() { return "base_model.model." + module + ".lora_A.weight"; }

    public String keyB() { return "base_model.model." + module + ".lora_B.weight"; }
}
