package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;

/** {@code olora}: reduced QR W = QR, B = Q[:, :r], A = R[:r, :] (no division by s, as peft olora_init). */
public final class OloraInitializer implements LoraInitializer {
    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] w = d.requireWeight();
        Lapack.Qr qr = Lapack.qr(w, out, in);
        double[] a = new double[r * in], b = new double[out * r];
        System.arraycopy(qr.r(), 0, a, 0, r * in);
        for (int i = 0; i < out; i++) System.arraycopy(qr.q(), i * qr.k(), b, i * r, r);
        return new LoraFactors(LoraFactors.toFloat(a), LoraFactors.toFloat(b), r, in, out, true, "QR");
    }

    @Override public boolean changesBase() { return true; }
}
