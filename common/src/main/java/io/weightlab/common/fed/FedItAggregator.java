package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.List;

/**
 * FedIT: A and B averaged separately (what FlowerTune does). Biased: Σp_k B_k · Σp_k A_k ≠ Σ p_k B_k A_k; kept as
 * the baseline the report and LoRA-FAIR measure against. Clients must share rank and scaling.
 */
public final class FedItAggregator implements LoraAggregator {
    @Override
    public LoraPair aggregate(List<LoraPair> clients, double[] p) {
        LoraPair c0 = sameShape(clients);
        double[] a = new double[c0.a().length], b = new double[c0.b().length];
        for (int k = 0; k < clients.size(); k++) {
            LoraPair c = clients.get(k);
            for (int i = 0; i < a.length; i++) a[i] += p[k] * c.a()[i];
            for (int i = 0; i < b.length; i++) b[i] += p[k] * c.b()[i];
        }
        return new LoraPair(a, b, c0.r(), c0.in(), c0.out(), c0.scaling());
    }

    static LoraPair sameShape(List<LoraPair> clients) {
        LoraPair c0 = clients.get(0);
        for (LoraPair c : clients) {
            if (c.r() != c0.r() || c.scaling() != c0.scaling()) {
                throw new UsageException("clients differ in rank or scaling (r " + c.r() + " vs " + c0.r() + ", s " + c.scaling() + " vs " + c0.scaling()
                        + "): averaging A and B needs equal ranks; use --method svd or stack for heterogeneous ranks (rule: SameRank)");
            }
        }
        return c0;
    }

    @Override public String describe() { return "FedIT: A and B averaged separately (biased: mean(B)·mean(A) != mean(B·A))"; }
}
