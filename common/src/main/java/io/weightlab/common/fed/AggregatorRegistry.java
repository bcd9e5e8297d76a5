package io.weightlab.common.fed;

import io.weightlab.common.transform.MethodParams;
import io.weightlab.common.error.UsageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** Element aggregators by name; one line per method. Parameters from {@code --method-param k=v}. */
public final class AggregatorRegistry {
    private static final Map<String, Function<MethodParams, ElementAggregator>> METHODS = new LinkedHashMap<>();

    static {
        METHODS.put("fedavg", p -> new WeightedMean());
        METHODS.put("median", p -> new CoordinateMedian());
        METHODS.put("trimmed-mean", p -> new TrimmedMean(p.number("beta", 0.2)));
    }

    private AggregatorRegistry() {}

    public static java.util.Set<String> names() { return METHODS.keySet(); }

    public static ElementAggregator create(String name, MethodParams p) {
        Function<MethodParams, ElementAggregator> f = METHODS.get(name);
        if (f == null) throw new UsageException("unknown aggregation '" + name + "'; known: " + String.join(", ", METHODS.keySet()));
        return f.apply(p);
    }
}
