package io.weightlab.common.fed;

import io.weightlab.common.transform.MethodParams;
import io.weightlab.common.error.UsageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** LoRA aggregations by name; one line per method. */
public final class LoraAggregatorRegistry {
    private static final Map<String, Function<MethodParams, LoraAggregator>> METHODS = new LinkedHashMap<>();

    static {
        METHODS.put("fedit", p -> new FedItAggregator());
        METHODS.put("ffa", p -> new FfaAggregator());
        METHODS.put("stack", p -> new StackingAggregator());
        METHODS.put("svd", p -> new SvdRefactorAggregator((int) p.number("rank", 0)));
        METHODS.put("lora-fair", p -> new LoraFairAggregator(p.number("lambda", 1e-6)));
    }

    private LoraAggregatorRegistry() {}

    public static boolean has(String name) { return METHODS.containsKey(name); }

    public static LoraAggregator create(String name, MethodParams p) {
        Function<MethodParams, LoraAggregator> f = METHODS.get(name);
        if (f == null) throw new UsageException("unknown LoRA aggregation '" + name + "'; known: " + String.join(", ", METHODS.keySet()));
        return f.apply(p);
    }
}
