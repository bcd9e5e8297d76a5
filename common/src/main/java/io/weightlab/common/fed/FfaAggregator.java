package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.Arrays;
import java.util.List;

/** FFA-LoRA: A frozen and shared by every client, B averaged; exact (Σ p_k B_k A = (Σ p_k B_k) A). Refuses differing A's. */
public final class FfaAggregator implements LoraAggregator {
    @Override
    public LoraPair aggregate(List<LoraPair> clients, double[] p) {
        LoraPair c0 = FedItAggregator.sameShape(clients);
        for (LoraPair c : clients) {
            if (!Arrays.equals(c.a(), c0.a())) throw new UsageException("FFA-LoRA needs the same frozen A on every client; a client's A differs (rule: SharedA)");
        }
        double[] b = new double[c0.b().length];
        for (int k = 0; k < clients.size(); k++) for (int i = 0; i < b.length; i++) b[i] += p[k] * clients.get(k).b()[i];
        return new LoraPair(c0.a().clone(), b, c0.r(), c0.in(), c0.out(), c0.scaling());
    }

    @Override public String describe() { return "FFA-LoRA: shared frozen A, B averaged (exact)"; }
}
