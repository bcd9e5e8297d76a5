package io.weightlab.common.fed;

import java.util.List;

/**
 * Stacking (FLoRA): A' = [A_1; …; A_K], B' = [p_1 s_1 B_1 | … | p_K s_K B_K], scaling 1, rank Σ r_k, so that
 * B'·A' = Σ p_k s_k B_k A_k exactly; heterogeneous ranks are fine. The rank grows with K: merge it into the base
 * or re-factorise it ({@link SvdRefactorAggregator}) before the next round.
 */
public final class StackingAggregator implements LoraAggregator {
    @Override
    public LoraPair aggregate(List<LoraPair> clients, double[] p) {
        int in = clients.get(0).in(), out = clients.get(0).out(), rank = 0;
        for (LoraPair c : clients) rank += c.r();
        double[] a = new double[rank * in], b = new double[out * rank];
        int off = 0;
        for (int k = 0; k < clients.size(); k++) {
            LoraPair c = clients.get(k);
            System.arraycopy(c.a(), 0, a, off * in, c.r() * in);
            double f = p[k] * c.scaling();
            for (int i = 0; i < out; i++) for (int t = 0; t < c.r(); t++) b[i * rank + off + t] = f * c.b()[i * c.r() + t];
            off += c.r();
        }
        return new LoraPair(a, b, rank, in, out, 1.0);
    }

    @Override public String describe() { return "stacking: exact Σ p_k s_k B_k A_k at rank Σ r_k"; }

    @Override public boolean keepsConfig() { return false; }
}
