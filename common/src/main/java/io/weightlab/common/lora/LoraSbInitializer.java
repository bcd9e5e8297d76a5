package io.weightlab.common.lora;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.Lapack;

/**
 * {@code lora_sb} (docs/algorithms.md §3.7): the simulated first Adam step ΔŴ = −η·sign(G), η = lr / (warmup_ratio ·
 * total_steps) or given as {@code eta=}; its top r singular triplets give B = U_r, R = diag(σ_r), A = V_rᵀ. PEFT has
 * no slot for R, so we export the plain LoRA B' = B·R/s, A' = A, for which s·B'·A' = B·R·A whatever α is (the
 * original fixes α = r, s = 1). The base is not changed: at step 0 the model already includes ≈ ΔŴ, as intended.
 * Exact SVD (LAPACK, double) instead of the original's svd_lowrank(niter=10) and bf16 cast.
 */
public final class LoraSbInitializer implements LoraInitializer {
    private final double eta;

    public LoraSbInitializer(MethodParams p) {
        if (p.has("eta")) {
            eta = p.positive("eta", 1);
        } else if (p.has("lr")) {
            eta = p.positive("lr", 1) / (p.positive("warmup_ratio", 1) * p.positive("total_steps", 1));
        } else {
            throw new UsageException("lora_sb needs the first step's size: --init-param eta=E, or lr=, warmup_ratio=, total_steps= (eta = lr / (warmup_ratio * total_steps))");
        }
    }

    public double eta() { return eta; }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        double[] g = d.requireGradient();
        double[] step = new double[g.length];
        for (int i = 0; i < g.length; i++) step[i] = -eta * Math.signum(g[i]);
        Lapack.Factors f = Lapack.svd(step, out, in);
        int k = f.k();
        double[] a = new double[r * in], b = new double[out * r];
        System.arraycopy(f.vt(), 0, a, 0, r * in);
        for (int i = 0; i < out; i++) for (int t = 0; t < r; t++) b[i * r + t] = f.u()[i * k + t] * f.s()[t] / scaling;
        return new LoraFactors(LoraFactors.toFloat(a), LoraFactors.toFloat(b), r, in, out, false,
                "eta=" + eta + " sigma_1=" + f.s()[0] + " sigma_r=" + f.s()[r - 1] + "; exported as plain LoRA B'=B*R/s");
    }

    @Override public boolean changesBase() { return false; }

    @Override public boolean needsWeight() { return false; }

    @Override public boolean needsGradient() { return true; }
}
