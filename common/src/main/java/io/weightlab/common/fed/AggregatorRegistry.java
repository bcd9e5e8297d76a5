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
                    Param.numberBelow("beta", "0.2", 0, 0.5, "fraction trimmed at each end")), p -> new TrimmedMean(p.number("beta", 0.2)));

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
