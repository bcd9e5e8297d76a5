package io.weightlab.common.fed;

import io.weightlab.common.linalg.Lapack;

import java.util.List;

/**
 * ΔW = Σ p_k s_k B_k A_k re-factorised to rank r by its truncated SVD, never formed densely: with the stacked
 * factors ΔW = B'·A' (rank R = Σ r_k), QR of B' = Q_B R_B and of A'ᵀ = Q_A R_A give ΔW = Q_B (R_B R_Aᵀ) Q_Aᵀ; the SVD
 * of the small R x R core gives ΔW's. Output B = Q_B U_r √S_r, A = √S_r V_rᵀ Q_Aᵀ, scaling 1: the optimal rank-r
 * approximation (Eckart–Young), error² = Σ_{i>r} σ_i². Heterogeneous client ranks are fine.
 */
public final class SvdRefactorAggregator implements LoraAggregator {
    private final int rank;

    public SvdRefactorAggregator(int rank) { this.rank = rank; }

    @Override
    public LoraPair aggregate(List<LoraPair> clients, double[] p) {
        LoraPair st = new StackingAggregator().aggregate(clients, p);
        int big = st.r(), in = st.in(), out = st.out();
        int r = Math.min(rank > 0 ? rank : maxRank(clients), Math.min(big, Math.min(in, out)));
        Lapack.Factors f = io.weightlab.common.linalg.LowRankSpectrum.factors(st.b(), out, big, st.a(), in);
        r = Math.min(r, f.k());
        // √S on each side: B = U_r √S_r, A = √S_r V_rᵀ
        double[] b = new double[out * r], a = new double[r * in];
        for (int t = 0; t < r; t++) {
            double root = Math.sqrt(f.s()[t]);
            for (int i = 0; i < out; i++) b[i * r + t] = f.u()[i * f.k() + t] * root;
            for (int j = 0; j < in; j++) a[t * in + j] = f.vt()[t * in + j] * root;
        }
        return new LoraPair(a, b, r, in, out, 1.0);
    }

    private static int maxRank(List<LoraPair> clients) {
        int m = 0;
        for (LoraPair c : clients) m = Math.max(m, c.r());
        return m;
    }

    @Override public String describe() { return "SVD re-factorisation of the exact Σ p_k s_k B_k A_k to rank " + (rank > 0 ? rank : "max r_k") + " (optimal)"; }

    @Override public boolean keepsConfig() { return false; }
}
