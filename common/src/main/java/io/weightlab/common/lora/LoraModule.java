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

    /** PEFT's adapter keys: the adapter name stripped, "base_model.model." in front. */
    public String keyA() { return "base_model.model." + module + ".lora_A.weight"; }

    public String keyB() { return "base_model.model." + module + ".lora_B.weight"; }
}
