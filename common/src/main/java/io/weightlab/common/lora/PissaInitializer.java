package io.weightlab.common.lora;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.Lapack;

/**
 * {@code pissa}: the top r singular triplets of W move into the adapter, in double. {@code svd=gram} (default): only
 * those r triplets, from the Gram matrix's top eigenpairs ({@link Lapack#topSvd}); {@code svd=gesdd}: a full dgesdd.
 * Both are deterministic; PEFT's fp32 full SVD is the reference they are tested against.
 */
public final class PissaInitializer implements LoraInitializer {
    private final boolean full;

    public PissaInitializer(MethodParams p) {
        String svd = p.string("svd", "gram");
        if (!svd.equals("gram") && !svd.equals("gesdd")) throw new UsageException("pissa: svd must be gram or gesdd, got " + svd);
        full = svd.equals("gesdd");
    }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] w = d.requireWeight();
        int k = Math.min(out, in);
        Lapack.Factors f = full ? Lapack.svd(w, out, in) : Lapack.topSvd(w, out, in, Math.min(k, r + 1));
        String note = "sigma_r=" + f.s()[r - 1] + (r < f.k() ? " sigma_r+1=" + f.s()[r] : "") + (full ? " (gesdd)" : " (gram top-r)");
        return SvdSplit.split(f.u(), f.s(), f.vt(), f.k(), out, in, 0, r, scaling, note);
    }

    @Override public boolean changesBase() { return true; }
}
