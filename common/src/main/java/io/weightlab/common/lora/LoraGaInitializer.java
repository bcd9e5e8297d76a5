package io.weightlab.common.lora;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TensorRandom;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.Lapack;
import org.apache.commons.math3.random.RandomGenerator;

/**
 * {@code lora_ga} (docs/algorithms.md §3.6): A and B from the top 2r singular triplets of the accumulated gradient G,
 * W_res = W − s·B·A. Two variants, chosen by {@code variant=}:
 * <ul>
 *   <li>{@code peft} (default, peft layer.py::lora_ga_init): B = U[:, idx]·diag(S[idx]); scale {@code stable} multiplies
 *       only B by out^¼/√γ; {@code weight_svd}, {@code gd_scale}, {@code unit}.</li>
 *   <li>{@code original} (Outsider565/LoRA-GA): B = U[:, idx] unscaled by S; {@code stable} multiplies A and B by
 *       out^¼/√γ; {@code gd}, {@code unit}, {@code weightS}.</li>
 * </ul>
 * Both use torch.svd_lowrank(G, q=min(4r, ·), niter=4); we use the exact SVD (LAPACK, double), which that randomized
 * call approximates, so the result is deterministic. Directions: ArB2r (default), A2rBr, ArBr, random (seeded).
 */
public final class LoraGaInitializer implements LoraInitializer {
    private final boolean original;
    private final String direction;
    private final String scale;
    private final double gamma;

    public LoraGaInitializer(MethodParams p) {
        String variant = p.string("variant", "peft");
        if (!variant.equals("peft") && !variant.equals("original")) throw new UsageException("lora_ga: variant must be peft or original, got " + variant);
        original = variant.equals("original");
        direction = p.string("direction", "ArB2r");
        if (!java.util.List.of("ArB2r", "A2rBr", "ArBr", "random").contains(direction)) {
            throw new UsageException("lora_ga: direction must be ArB2r, A2rBr, ArBr or random, got " + direction);
        }
        scale = p.string("scale", "stable");
        java.util.List<String> scales = original ? java.util.List.of("stable", "gd", "unit", "weightS") : java.util.List.of("stable", "weight_svd", "gd_scale", "unit");
        if (!scales.contains(scale)) throw new UsageException("lora_ga (" + variant + "): scale must be one of " + scales + ", got " + scale);
        gamma = p.positive("stable_gamma", 16);
    }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        if (2 * r > Math.min(out, in)) throw new UsageException("lora_ga needs 2r <= min(out, in) = " + Math.min(out, in) + ", got r=" + r);
        Lapack.Factors g = Lapack.svd(d.requireGradient(), out, in);
        int k = g.k();
        int[] ia = new int[r], ib = new int[r];
        switch (direction) {
            case "ArB2r" -> { for (int t = 0; t < r; t++) { ia[t] = t; ib[t] = r + t; } }
            case "A2rBr" -> { for (int t = 0; t < r; t++) { ia[t] = r + t; ib[t] = t; } }
            case "ArBr" -> { for (int t = 0; t < r; t++) { ia[t] = 2 * t + 1; ib[t] = 2 * t; } }
            default -> { // PEFT: one random subset of the first 2r triplets for both factors
                int[] perm = permutation(2 * r, seed);
                System.arraycopy(perm, 0, ia, 0, r);
                System.arraycopy(perm, 0, ib, 0, r);
            }
        }
        double[] a = new double[r * in], b = new double[out * r];
        for (int t = 0; t < r; t++) {
            System.arraycopy(g.vt(), ia[t] * in, a, t * in, in);
            double sb = original ? 1.0 : g.s()[ib[t]];
            for (int i = 0; i < out; i++) b[i * r + t] = g.u()[i * k + ib[t]] * sb;
        }
        double fa = 1, fb = 1;
        double stable = Math.pow(out, 0.25) / Math.sqrt(gamma);
        switch (scale) {
            case "stable" -> { fb = stable; if (original) fa = stable; }
            case "gd", "gd_scale" -> { fa = 1 / scaling; fb = 1 / scaling; }
            case "weight_svd" -> { // PEFT: B ×= σ₁(W)/S_B[0], guarded against a zero gradient
                double sb0 = g.s()[ib[0]];
                if (sb0 > 0) fb = Lapack.singularValues(d.requireWeight(), out, in)[0] / sb0;
            }
            case "weightS" -> { // original: A, B ×= mean over the top r of √(σ(W)/s)
                double[] sw = Lapack.singularValues(d.requireWeight(), out, in);
                double mean = 0;
                for (int t = 0; t < r; t++) mean += Math.sqrt(sw[t] / scaling) / r;
                fa = mean;
                fb = mean;
            }
            default -> { }
        }
        for (int i = 0; i < a.length; i++) a[i] *= fa;
        for (int i = 0; i < b.length; i++) b[i] *= fb;
        String note = (original ? "original" : "peft") + " " + direction + " " + scale + " (exact SVD of the gradient); sigma_1(G)=" + g.s()[0]
                + (g.s()[0] == 0 ? "; WARNING: zero gradient, the adapter is zero" : "");
        return new LoraFactors(LoraFactors.toFloat(a), LoraFactors.toFloat(b), r, in, out, true, note);
    }

    private static int[] permutation(int n, long seed) {
        RandomGenerator rng = TensorRandom.forBlock(seed, "lora_ga", 0);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    @Override public boolean changesBase() { return true; }

    @Override public boolean needsWeight() { return true; }

    @Override public boolean needsGradient() { return true; }
}
