package io.weightlab.common.lora;

import java.io.Serializable;

/**
 * A module's adapter at step 0: A [r, in] and B [out, r], row-major float32 as PEFT stores them, and whether the
 * base weight must be replaced by W − s·B·A (PiSSA, MiLoRA, OLoRA) or stays as it is (plain LoRA, MiCA).
 */
public record LoraFactors(float[] a, float[] b, int r, int in, int out, boolean changesBase, String note) implements Serializable {
    public static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }
}
