package io.weightlab.common.fed;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.linalg.Lapack;

import java.util.List;

/**
 * LoRA-FAIR-style correction, our deterministic variant (docs/algorithms.md §5.1: the paper's similarity metric and
 * solver are not public): Ā, B̄ as FedIT, then B̄' = B̄ + ΔB* with the ridge solution
 * ΔB* = (ΔW/s − B̄Ā)Āᵀ(ĀĀᵀ + λI)⁻¹, where ΔW·Āᵀ = Σ p_k s_k B_k (A_k Āᵀ) needs only r x r products, never the
 * dense ΔW. Its residual ‖ΔW − s·B̄'Ā‖ is never above FedIT's; (Ā, B̄') is also the next round's initialisation.
 */
public final class LoraFairAggregator implements LoraAggregator {
    private final double lambda;

    public LoraFairAggregator(double lambda) { this.lambda = lambda; }

    @Override
    public LoraPair aggregate(List<LoraPair> clients, double[] p) {
        LoraPair avg = new FedItAggregator().aggregate(clients, p);
        int r = avg.r(), in = avg.in(), out = avg.out();
        double s = avg.scaling();
        double[] abar = avg.a(), bbar = avg.b();
        // target T = ΔW·Āᵀ / s − B̄ (ĀĀᵀ)   [out, r]
        double[] gram = Lapack.multiply(abar, false, abar, true, r, r, in);          // ĀĀᵀ
        double[] t = Lapack.multiply(bbar, false, gram, false, out, r, r);
        for (int i = 0; i < t.length; i++) t[i] = -t[i];
        for (int k = 0; k < clients.size(); k++) {
            LoraPair c = clients.get(k);
            double[] cross = Lapack.multiply(c.a(), false, abar, true, c.r(), r, in); // A_k Āᵀ [r_k, r]
            double[] term = Lapack.multiply(c.b(), false, cross, false, out, r, c.r());
            double f = p[k] * c.scaling() / s;
            for (int i = 0; i < t.length; i++) t[i] += f * term[i];
        }
        // ΔB* = T (ĀĀᵀ + λI)⁻¹, by solving (ĀĀᵀ + λI) X = Tᵀ (symmetric positive (semi)definite; dposv, else dgesv)
        double[] m = gram.clone();
        for (int i = 0; i < r; i++) m[i * r + i] += lambda;
        double[] tt = new double[r * out];
        for (int i = 0; i < out; i++) for (int j = 0; j < r; j++) tt[j * out + i] = t[i * r + j];
        double[] x = Lapack.solveSymmetric(m, r, tt, out);
        if (x == null) throw new WeightLabException("LoRA-FAIR: ĀĀᵀ + λI is singular (λ = " + lambda + "); raise lambda");
        double[] b = bbar.clone();
        for (int i = 0; i < out; i++) for (int j = 0; j < r; j++) b[i * r + j] += x[j * out + i];
        return new LoraPair(abar, b, r, in, out, s);
    }

    @Override public String describe() { return "LoRA-FAIR-style ridge correction of B (ours, lambda " + lambda + "); next round starts from it"; }
}
