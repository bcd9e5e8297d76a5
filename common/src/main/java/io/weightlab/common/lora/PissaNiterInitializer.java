package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.RandomizedSvd;

/**
 * {@code pissa_niter_K}: PiSSA on torch.svd_lowrank's approximation (q = r, no oversampling, K power iterations,
 * Ω drawn from the seed and the module name). The residual is still W − s·B·A, so W is reproduced exactly.
 */
public final class PissaNiterInitializer implements LoraInitializer {
    private final int niter;

    public PissaNiterInitializer(int niter) { this.niter = niter; }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] w = d.requireWeight();
        Lapack.Factors f = RandomizedSvd.topFactors(RandomizedSvd.dense(w, out, in), r, 0, niter, seed);
        return SvdSplit.split(f.u(), f.s(), f.vt(), f.k(), out, in, 0, r, scaling, "randomized, niter=" + niter);
    }

    @Override public boolean changesBase() { return true; }
}
