package io.weightlab.common.fed;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;

import java.util.Map;

/**
 * Server optimisers by name with Flower's parameter names and defaults (fedavgm's momentum is Hsu et al.'s 0.9;
 * Flower's 0 is plain FedAvg), one line per method with its declared parameters (docs/methods.md).
 */
public final class ServerOptimizerRegistry {
    private static final Param BETA1 = Param.number("beta1", "0.9", 0, 1, "first-moment decay");
    private static final Param BETA2 = Param.number("beta2", "0.99", 0, 1, "second-moment decay");

    private static final MethodCatalog<ServerOptimizer> CATALOG = new MethodCatalog<ServerOptimizer>("server optimizer")
            .register(MethodInfo.of("fedavgm", "server momentum: m' = momentum m + Δ, x' = x + eta m' (Hsu et al.)",
                    Param.positive("eta", "1", "server learning rate"),
                    Param.number("momentum", "0.9", 0, 1, "server momentum")),
                    p -> new FedAvgM(p.number("eta", 1.0), p.number("momentum", 0.9)))
            .register(MethodInfo.of("fedadam", "FedAdam (Reddi et al., Adaptive Federated Optimization)",
                    Param.positive("eta", "0.1", "server learning rate"), BETA1, BETA2,
                    Param.positive("tau", "1e-9", "adaptivity: added to sqrt(v)")),
                    p -> new FedAdam(p.number("eta", 0.1), p.number("beta1", 0.9), p.number("beta2", 0.99), p.number("tau", 1e-9)))
            .register(MethodInfo.of("fedyogi", "FedYogi (Reddi et al.): v moves by sign(v - Δ²)",
                    Param.positive("eta", "0.01", "server learning rate"), BETA1, BETA2,
                    Param.positive("tau", "1e-3", "adaptivity: added to sqrt(v)")),
                    p -> new FedYogi(p.number("eta", 0.01), p.number("beta1", 0.9), p.number("beta2", 0.99), p.number("tau", 1e-3)))
            .register(MethodInfo.of("fedadagrad", "FedAdagrad (Reddi et al.): v accumulates Δ²",
                    Param.positive("eta", "0.1", "server learning rate"), Param.number("beta1", "0", 0, 1, "first-moment decay"),
                    Param.positive("tau", "1e-9", "adaptivity: added to sqrt(v)")),
                    p -> new FedAdagrad(p.number("eta", 0.1), p.number("beta1", 0.0), p.number("tau", 1e-9)));

    private ServerOptimizerRegistry() {}

    public static ServerOptimizer create(String name, Map<String, String> params) {
        return CATALOG.create(name, params, f -> null);
    }

    public static MethodCatalog<ServerOptimizer> catalog() { return CATALOG; }
}
