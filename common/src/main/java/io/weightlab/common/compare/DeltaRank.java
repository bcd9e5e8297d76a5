package io.weightlab.common.compare;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ranks of ΔW = W_t − W_0 from its singular values (docs/algorithms.md §7.2, §7.5): numerical rank #{σᵢ > τ·σ₁} per
 * relative tolerance τ, the rank above numpy's floor σ₁·max(m, n)·eps, stable rank Σσ²/σ₁² and Roy–Vetterli's
 * effective rank exp(−Σ pᵢ ln pᵢ) with pᵢ = σᵢ/Σσ.
 */
public final class DeltaRank {
    private DeltaRank() {}

    public static Map<String, Object> of(double[] sv, int rows, int cols, double[] tolerances) {
        Map<String, Object> m = new LinkedHashMap<>();
        double s1 = sv.length == 0 ? 0 : sv[0], sum = 0, sumSq = 0;
        for (double s : sv) {
            sum += s;
            sumSq += s * s;
        }
        m.put("delta_sv_max", s1);
        m.put("delta_frobenius", Math.sqrt(sumSq));
        for (double tau : tolerances) {
            int r = 0;
            for (double s : sv) if (s1 > 0 && s > tau * s1) r++;
            m.put("delta_rank_" + tau, r);
        }
        double floor = s1 * Math.max(rows, cols) * Math.ulp(1.0);
        int r = 0;
        for (double s : sv) if (s > floor && s1 > 0) r++;
        m.put("delta_matrix_rank", r);
        m.put("delta_stable_rank", s1 > 0 ? sumSq / (s1 * s1) : Double.NaN);
        double h = 0;
        for (double s : sv) {
            double p = s / sum;
            if (p > 0) h -= p * Math.log(p);
        }
        m.put("delta_effective_rank", sum > 0 ? Math.exp(h) : Double.NaN);
        return m;
    }
}
