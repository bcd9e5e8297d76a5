package io.weightlab.common.fed;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;
import io.weightlab.common.method.MethodParams;

import java.util.Map;
import java.util.Set;

/** Element aggregators by name, one line per method with its declared parameters (docs/methods.md). */
public final class AggregatorRegistry {
    private static final MethodCatalog<ElementAggregator> CATALOG = new MethodCatalog<ElementAggregator>("aggregation")
            .register(MethodInfo.of("fedavg", "weighted mean of the clients (McMahan et al.)"), p -> new WeightedMean())
            .register(MethodInfo.of("median", "coordinate-wise median, unweighted (Yin et al.)"), p -> new CoordinateMedian())
            .register(MethodInfo.of("trimmed-mean", "coordinate-wise mean after dropping floor(beta*K) clients at each end (Yin et al.; Flower's FedTrimmedAvg)",
                    Param.numberBelow("beta", "0.2", 0, 0.5, "fraction trimmed at each end")), p -> new TrimmedMean(p.number("beta", 0.2)))
            .register(MethodInfo.of("krum", "the client with the lowest sum of squared distances to its K-f-2 nearest others (Blanchard et al.; Flower's Krum)",
                    Param.integer("num_malicious_clients", "0", 0, 1 << 20, "f, the attackers tolerated")),
                    p -> new Krum((int) p.number("num_malicious_clients", 0), 0))
            .register(MethodInfo.of("multi-krum", "weighted mean of the m clients with the lowest Krum scores (Flower's Krum with num_clients_to_keep)",
                    Param.integer("num_malicious_clients", "0", 0, 1 << 20, "f, the attackers tolerated"),
                    Param.integer("num_clients_to_keep", "1", 1, 1 << 20, "m, the clients averaged")),
                    p -> new Krum((int) p.number("num_malicious_clients", 0), (int) p.number("num_clients_to_keep", 1)))
            .register(MethodInfo.of("bulyan", "K-2f clients by repeated Krum, then per coordinate the mean of the K-4f closest to their median (El Mhamdi et al.; Flower's Bulyan); K >= 4f+3",
                    Param.integer("num_malicious_clients", "0", 0, 1 << 20, "f, the attackers tolerated")),
                    p -> new Bulyan((int) p.number("num_malicious_clients", 0)))
            .register(MethodInfo.of("rfa", "geometric median by smoothed Weiszfeld iterations (Pillutla et al.'s RFA)",
                    Param.positive("nu", "1e-5", "smoothing: distances below nu count as nu"),
                    Param.number("ftol", "1e-6", 0, 1, "stop when the objective changes by less than ftol times itself"),
                    Param.integer("maxiter", "4", 0, 10_000, "Weiszfeld steps at most")),
                    p -> new GeometricMedian(p.number("nu", 1e-5), p.number("ftol", 1e-6), (int) p.number("maxiter", 4)));

    private AggregatorRegistry() {}

    public static Set<String> names() { return CATALOG.names(); }

    public static ElementAggregator create(String name, MethodParams p) {
        return CATALOG.create(name, p);
    }

    public static ElementAggregator create(String name, Map<String, String> params) {
        return CATALOG.create(name, params, f -> null);
    }

    public static MethodCatalog<ElementAggregator> catalog() { return CATALOG; }
}
