package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.RandomizedSvd;

/**
 * {@code pissa_niter_K}: PiSSA on torch.svd_lowrank's approximation (q = r, no oversampling, K power iterations,
 * Ω drawn from the seed and the module name), its products by sgemm. The residual is still W − s·B·A in double, so W
 * is reproduced exactly.
 */
public final class PissaNiterInitializer implements LoraInitializer {
    private final int niter;

    public PissaNiterInitializer(int niter) { this.niter = niter; }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        Lapack.Factors f;
        try (RandomizedSvd.Operator op = d.weightF32() != null ? RandomizedSvd.denseFloatView(d.weightF32(), out, in)
                : RandomizedSvd.denseFloat(LoraFactors.toFloat(d.requireWeight()), out, in)) {
            f = RandomizedSvd.topFactors(op, r, 0, niter, seed);
        }
        return SvdSplit.split(f.u(), f.s(), f.vt(), f.k(), out, in, 0, r, scaling, "randomized, niter=" + niter);
    }

    @Override public boolean float32Weight() { return true; }

    @Override public boolean changesBase() { return true; }
}
