package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;

/**
 * {@code mica}: B = the left singular vectors of the r smallest singular values, A = 0; the base is unchanged
 * (peft mica_init). PEFT also freezes B while training; that is a training-time setting we cannot carry.
 */
public final class MicaInitializer implements LoraInitializer {
    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] w = d.requireWeight();
        Lapack.Factors f = Lapack.svd(w, out, in);
        int k = f.k();
        float[] b = new float[out * r];
        for (int i = 0; i < out; i++) for (int t = 0; t < r; t++) b[i * r + t] = (float) f.u()[i * k + k - r + t];
        return new LoraFactors(new float[r * in], b, r, in, out, false, "B frozen in PEFT's mica; train A only");
    }

    @Override public boolean changesBase() { return false; }
}
