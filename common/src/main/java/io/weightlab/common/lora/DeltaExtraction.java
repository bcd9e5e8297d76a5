package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.RandomizedSvd;

/**
 * extract-lora's factorisation of one module (mergekit's extract_lora.py, distributed scale): the full SVD of
 * ΔW = W_ft − W_base in double (dgesdd), rank k = min(r, #{σ > ε}), further cut to the smallest k whose σ² hold
 * {@code energy} of Σσ² when asked, then A = diag(√σ)·Vᵀ_k and B = U_k·diag(√σ), so B·A is the best rank-k
 * approximation of ΔW; with lora_alpha = k the PEFT scaling is 1. Also what the adapter leaves out. For a large
 * module, {@link #extractRandomized} finds the top r by the randomized range finder instead of the full SVD.
 */
public final class DeltaExtraction {
    /** A module's result: its factors (null when ΔW is exactly zero), the rank kept and ‖ΔW − BA‖_F/‖ΔW‖_F. */
    public record Result(LoraFactors factors, int rank, double frobenius, double residualEnergy, double sigmaMax, double sigmaKept) {}

    private DeltaExtraction() {}

    /** {@code delta}: [out, in] row-major; {@code energy} in (0, 1], 1 keeps every value up to r. */
    public static Result extract(double[] delta, int out, int in, int r, double energy, double epsilon) {
        double total = 0;
        for (double v : delta) total += v * v;
        if (total == 0) return new Result(null, 0, 0, 0, 0, 0);
        Lapack.Factors f = Lapack.svd(delta, out, in);
        int full = Math.min(out, in);
        double[] s = f.s();
        int k = 0;
        while (k < Math.min(r, full) && s[k] > epsilon) k++;
        if (k == 0) return new Result(null, 0, Math.sqrt(total), 1, s[0], 0);
        // Σσ² from the values, not from Σ ΔW²: both agree to rounding, the values are what the cut is made on
        double sum = 0;
        for (int i = 0; i < full; i++) sum += s[i] * s[i];
        if (energy < 1) k = Math.min(k, EnergyRanks.rankFor(s, energy));
        double tail = 0;
        for (int i = full - 1; i >= k; i--) tail += s[i] * s[i];    // smallest first: no large-sum cancellation
        LoraFactors factors = SvdSplit.split(f.u(), s, f.vt(), full, out, in, 0, k, 1.0,
                String.format(java.util.Locale.ROOT, "rank %d of %d, sigma_1=%.6g sigma_k=%.6g", k, full, s[0], s[k - 1]));
        return new Result(factors, k, Math.sqrt(sum), Math.sqrt(tail / sum), s[0], s[k - 1]);
    }

    /** Oversampling of the randomized route: r + 10 directions are sought for the top r (Halko et al. §4.2). */
    public static final int OVERSAMPLE = 10;

    /**
     * Whether the randomized route does at least 4x less arithmetic than the full SVD: 2q + 2 products of ΔW with
     * r + p directions (2·out·in·(r + p) flops each) against dgesdd's ~ 4·out·in·min(out, in) with its vectors.
     * With r = 16 and q = 4: modules whose short side is at least 520 (Llama 1B's 2048); MiniLM's 384 stay exact.
     */
    public static boolean randomizedPays(int out, int in, int r, int powerIterations) {
        long directions = Math.min(r + OVERSAMPLE, Math.min(out, in));
        return 2L * directions * (2L * powerIterations + 2) <= Math.min(out, in);
    }

    /**
     * As {@link #extract}, the top min(r, …) triplets from {@link RandomizedSvd#topFactors} (r + {@link #OVERSAMPLE}
     * directions, {@code powerIterations} power steps, Ω from {@code seed}). The energy cut is taken against
     * ‖ΔW‖_F² summed from the values, and the residual ‖ΔW − BA‖_F is measured on ΔW itself in row blocks (never
     * as a difference of large sums), so the reported residual is exact whatever the range finder missed.
     */
    public static Result extractRandomized(double[] delta, int out, int in, int r, double energy, double epsilon, int powerIterations, long seed) {
        double total = 0;
        for (double v : delta) total += v * v;
        if (total == 0) return new Result(null, 0, 0, 0, 0, 0);
        int full = Math.min(out, in), want = Math.min(r, full);
        Lapack.Factors f;
        try (RandomizedSvd.Operator op = RandomizedSvd.dense(delta, out, in)) {
            f = RandomizedSvd.topFactors(op, want, OVERSAMPLE, powerIterations, seed);
        }
        double[] s = f.s();
        int kk = f.k(), k = 0;
        while (k < kk && s[k] > epsilon) k++;
        if (k == 0) return new Result(null, 0, Math.sqrt(total), 1, s[0], 0);
        if (energy < 1) {
            double acc = 0;
            for (int i = 0; i < k; i++) {
                acc += s[i] * s[i];
                if (acc >= energy * total * (1 - 1e-12)) { k = i + 1; break; }
            }
        }
        LoraFactors factors = SvdSplit.split(f.u(), s, f.vt(), kk, out, in, 0, k, 1.0,
                String.format(java.util.Locale.ROOT, "rank %d of %d (randomized, %d power iterations), sigma_1=%.6g sigma_k=%.6g",
                        k, full, powerIterations, s[0], s[k - 1]));
        double residual = residualSquares(delta, out, in, f, k);
        return new Result(factors, k, Math.sqrt(total), Math.sqrt(residual / total), s[0], s[k - 1]);
    }

    /** ‖ΔW − U_k diag(s_k) V_kᵀ‖_F² in blocks of rows, each block's product formed once. */
    static double residualSquares(double[] delta, int out, int in, Lapack.Factors f, int k) {
        int kk = f.k();
        double[] vt = java.util.Arrays.copyOf(f.vt(), k * in);
        int block = Math.max(1, (1 << 18) / Math.max(1, in));
        double sum = 0;
        for (int r0 = 0; r0 < out; r0 += block) {
            int rows = Math.min(block, out - r0);
            double[] us = new double[rows * k];
            for (int i = 0; i < rows; i++) for (int t = 0; t < k; t++) us[i * k + t] = f.u()[(r0 + i) * kk + t] * f.s()[t];
            double[] approx = Lapack.multiply(us, false, vt, false, rows, in, k);
            int base = r0 * in;
            for (int i = 0; i < approx.length; i++) {
                double d = delta[base + i] - approx[i];
                sum += d * d;
            }
        }
        return sum;
    }
}
