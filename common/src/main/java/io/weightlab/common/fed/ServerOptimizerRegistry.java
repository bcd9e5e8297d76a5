package io.weightlab.common.fed;

import io.weightlab.common.transform.MethodParams;
import io.weightlab.common.error.UsageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** Server optimisers by name, with Flower's defaults; one line per method. */
public final class ServerOptimizerRegistry {
    private static final Map<String, Function<MethodParams, ServerOptimizer>> METHODS = new LinkedHashMap<>();

    static {
        METHODS.put("fedavgm", p -> new FedAvgM(p.number("eta", 1.0), p.number("momentum", 0.9)));
        METHODS.put("fedadam", p -> new FedAdam(p.number("eta", 0.1), p.number("beta1", 0.9), p.number("beta2", 0.99), p.number("tau", 1e-9)));
        METHODS.put("fedyogi", p -> new FedYogi(p.number("eta", 0.01), p.number("beta1", 0.9), p.number("beta2", 0.99), p.number("tau", 1e-3)));
        METHODS.put("fedadagrad", p -> new FedAdagrad(p.number("eta", 0.1), p.number("beta1", 0.0), p.number("tau", 1e-9)));
    }

    private ServerOptimizerRegistry() {}

    public static ServerOptimizer create(String name, Map<String, String> params) {
        Function<MethodParams, ServerOptimizer> f = METHODS.get(name);
        if (f == null) throw new UsageException("unknown server optimizer '" + name + "'; known: " + String.join(", ", METHODS.keySet()));
        MethodParams p = new MethodParams(name, params == null ? Map.of() : params, x -> null);
        ServerOptimizer o = f.apply(p);
        p.rejectUnread();
        return o;
    }
}
