package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;

/** {@code pissa}: the top r singular triplets of an exact SVD (LAPACK dgesdd, double) move into the adapter. */
public final class PissaInitializer implements LoraInitializer {
    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] w = d.requireWeight();
        Lapack.Factors f = Lapack.svd(w, out, in);
        String note = "sigma_r=" + f.s()[r - 1] + (r < f.k() ? " sigma_r+1=" + f.s()[r] : "");
        return SvdSplit.split(f.u(), f.s(), f.vt(), f.k(), out, in, 0, r, scaling, note);
    }

    @Override public boolean changesBase() { return true; }
}
