package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;

/**
 * extract-lora's factorisation of one module (mergekit's extract_lora.py, distributed scale): the full SVD of
 * ΔW = W_ft − W_base in double (dgesdd), rank k = min(r, #{σ > ε}), further cut to the smallest k whose σ² hold
 * {@code energy} of Σσ² when asked, then A = diag(√σ)·Vᵀ_k and B = U_k·diag(√σ), so B·A is the best rank-k
 * approximation of ΔW; with lora_alpha = k the PEFT scaling is 1. Also what the adapter leaves out.
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
}
