package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.List;

/** p_k by {@code examples} (n_k / Σn, FedAvg), {@code uniform} (1/K) or {@code given} (the manifest's weights, normalised). */
public final class ClientWeights {
    private ClientWeights() {}

    public static double[] of(String mode, List<ClientSpec> clients) {
        int k = clients.size();
        double[] w = new double[k];
        for (int i = 0; i < k; i++) {
            ClientSpec c = clients.get(i);
            w[i] = switch (mode) {
                case "examples" -> {
                    if (c.examples() <= 0) throw new UsageException("client '" + c.id() + "': examples must be > 0 to weight by examples, got " + c.examples() + " (rule: PositiveExamples)");
                    yield c.examples();
                }
                case "uniform" -> 1;
                case "given" -> {
                    if (c.weight() == null || !(c.weight() > 0) || c.weight().isInfinite()) {
                        throw new UsageException("client '" + c.id() + "': --weighting given needs a positive finite weight, got " + c.weight() + " (rule: PositiveWeight)");
                    }
                    yield c.weight();
                }
                default -> throw new UsageException("--weighting must be examples, uniform or given, got " + mode);
            };
        }
        double s = 0;
        for (double x : w) s += x;
        for (int i = 0; i < k; i++) w[i] /= s;
        return w;
    }
}
