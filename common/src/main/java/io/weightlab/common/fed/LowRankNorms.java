package io.weightlab.common.fed;

import io.weightlab.common.linalg.Lapack;

import java.util.List;

/**
 * ‖Σ_i c_i s_i B_i A_i‖_F without forming the dense matrix: stack the terms (B' = [c_i s_i B_i], A' = [A_i]) and use
 * ‖B'A'‖_F² = tr((B'ᵀB')(A'A'ᵀ)), two R x R Gram matrices (R = Σ r_i). For the round report's residuals.
 */
public final class LowRankNorms {
    private LowRankNorms() {}

    public static double frobenius(List<LoraPair> terms, double[] coef) {
        LoraPair st = new StackingAggregator().aggregate(terms, coef);
        int r = st.r();
        double[] gb = Lapack.multiply(st.b(), true, st.b(), false, r, r, st.out());
        double[] ga = Lapack.multiply(st.a(), false, st.a(), true, r, r, st.in());
        double tr = 0;
        for (int i = 0; i < r; i++) for (int j = 0; j < r; j++) tr += gb[i * r + j] * ga[j * r + i];
        return Math.sqrt(Math.max(tr, 0));
    }
}
