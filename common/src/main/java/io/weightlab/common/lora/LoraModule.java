package io.weightlab.common.lora;

import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;

/** One targeted module: its weight, module path (the weight's name without ".weight"), rank, alpha and scaling. */
public record LoraModule(TensorInfo weight, String module, int r, double alpha, double scaling) implements Serializable {
    public int out() { return (int) weight.dim(0); }

    public int in() { return (int) weight.dim(1); }

    /** PEFT's adapter keys: the adapter name stripped, "base_model.model." in front. */
    public String keyA() { return "base_model.model." + module + ".lora_A.weight"; }

    public String keyB() { return "base_model.model." + module + ".lora_B.weight"; }
}
