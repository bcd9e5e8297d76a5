package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;

/**
 * {@code milora}: the r minor singular triplets (reproduce_lora svd_init, mode="min") move into the adapter;
 * the residual keeps the top min(m,n) − r singular values exactly. Needs the exact SVD (no Gram route).
 */
public final class MiloraInitializer implements LoraInitializer {
    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] w = d.requireWeight();
        Lapack.Factors f = Lapack.svd(w, out, in);
        int k = f.k(), from = k - r;
        double gap = from > 0 ? f.s()[from - 1] - f.s()[from] : Double.NaN;
        String note = "minor sigma " + f.s()[from] + ".." + f.s()[k - 1]
                + (from > 0 && gap < 1e-6 * f.s()[0] ? "; WARNING: gap to the kept spectrum " + gap + " < 1e-6 sigma_1, subspace unstable" : "");
        return SvdSplit.split(f.u(), f.s(), f.vt(), k, out, in, from, r, scaling, note);
    }

    @Override public boolean changesBase() { return true; }
}
