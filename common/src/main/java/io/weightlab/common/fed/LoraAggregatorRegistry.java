package io.weightlab.common.fed;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;
import io.weightlab.common.method.MethodParams;

/** LoRA aggregations by name, one line per method with its declared parameters (docs/methods.md). */
public final class LoraAggregatorRegistry {
    private static final MethodCatalog<LoraAggregator> CATALOG = new MethodCatalog<LoraAggregator>("LoRA aggregation")
            .register(MethodInfo.of("fedit", "FedIT: weighted means of A and of B separately (inexact for different clients)"), p -> new FedItAggregator())
            .register(MethodInfo.of("ffa", "FFA-LoRA: A frozen and shared, B averaged (exact)"), p -> new FfaAggregator())
            .register(MethodInfo.of("stack", "FLoRA stacking: B and A concatenated, rank sum of the clients' (exact)"), p -> new StackingAggregator())
            .register(MethodInfo.of("svd", "the exact weighted ΔW re-factorised to rank `rank` without forming it",
                    Param.integer("rank", "0", 0, Integer.MAX_VALUE, "rank of the result (0: the clients' largest)")),
                    p -> new SvdRefactorAggregator((int) p.number("rank", 0)))
            .register(MethodInfo.of("lora-fair", "LoRA-FAIR: averaged A, ridge-corrected B (docs/algorithms.md §5.1)",
                    Param.positive("lambda", "1e-6", "ridge regularisation of the B correction")),
                    p -> new LoraFairAggregator(p.number("lambda", 1e-6)));

    private LoraAggregatorRegistry() {}

    public static boolean has(String name) { return CATALOG.has(name); }

    public static LoraAggregator create(String name, MethodParams p) {
        return CATALOG.create(name, p);
    }

    public static MethodCatalog<LoraAggregator> catalog() { return CATALOG; }
}
