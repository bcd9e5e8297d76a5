package io.weightlab.common.merge.adapter;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.method.Param;
import io.weightlab.common.merge.adapter.PeftMergeFunctions.Prune;

import java.util.List;
import java.util.Map;

/** PEFT's add_weighted_adapter combination types by PEFT's names, with its parameters and defaults (docs/methods.md). */
public final class AdapterCombinations {
    private static final Param DENSITY = new Param("density", Param.Type.NUMBER, null, 0, 1, true, false, List.of(),
            "fraction of each tensor kept, in (0, 1] (required, as PEFT's prune needs it)");
    private static final Param MAJORITY = Param.choice("majority_sign_method", "total", List.of("total", "frequency"),
            "elect each element's sign by the sum of the values (total) or of their signs (frequency)");
    private static final Param SVD_RANK = Param.integer("svd_rank", "0", 0, Integer.MAX_VALUE, "rank of the result (0: the adapters' largest r)");
    private static final Param SVD_CLAMP = new Param("svd_clamp", Param.Type.NUMBER, null, 0, 1, false, false, List.of(),
            "clamp A and B to ± this quantile of their values (default: no clamp)");

    private static final MethodCatalog<AdapterCombination> CATALOG = new MethodCatalog<AdapterCombination>("adapter combination")
            .register(MethodInfo.of("linear", "weighted sums of the A and of the B factors, √|w·s| on each side (one rank; PEFT: a rough approximation)"),
                    p -> factorwise(p, Prune.NONE, false))
            .register(MethodInfo.of("cat", "A and B concatenated: B·A = Σ w·s·B·A exactly at rank Σ r"), p -> new CatCombination())
            .register(MethodInfo.of("ties", "TIES on the A and on the B factors (magnitude top density, sign election, disjoint mean)", DENSITY, MAJORITY),
                    p -> factorwise(p, Prune.MAGNITUDE, true))
            .register(MethodInfo.of("dare_linear", "DARE on the factors: random drop, rescale by 1/density, weighted sum", DENSITY),
                    p -> factorwise(p, Prune.RANDOM, false))
            .register(MethodInfo.of("dare_ties", "DARE's drop and rescale, then TIES' sign election, on the factors", DENSITY, MAJORITY),
                    p -> factorwise(p, Prune.RANDOM, true))
            .register(MethodInfo.of("magnitude_prune", "each factor's top density by magnitude, weighted sum", DENSITY),
                    p -> factorwise(p, Prune.MAGNITUDE, false))
            .register(MethodInfo.of("svd", "Σ w·ΔW re-factorised by its rank-r SVD (B = U S, A = Vᵀ), ΔW never formed", SVD_RANK, SVD_CLAMP),
                    p -> svd(p, Prune.NONE, false))
            .register(MethodInfo.of("ties_svd", "TIES on the ΔW_k, then the rank-r SVD", DENSITY, MAJORITY, SVD_RANK, SVD_CLAMP), p -> svd(p, Prune.MAGNITUDE, true))
            .register(MethodInfo.of("dare_linear_svd", "DARE linear on the ΔW_k, then the rank-r SVD", DENSITY, SVD_RANK, SVD_CLAMP), p -> svd(p, Prune.RANDOM, false))
            .register(MethodInfo.of("dare_ties_svd", "DARE TIES on the ΔW_k, then the rank-r SVD", DENSITY, MAJORITY, SVD_RANK, SVD_CLAMP), p -> svd(p, Prune.RANDOM, true))
            .register(MethodInfo.of("magnitude_prune_svd", "magnitude pruning of the ΔW_k, weighted sum, then the rank-r SVD", DENSITY, SVD_RANK, SVD_CLAMP),
                    p -> svd(p, Prune.MAGNITUDE, false));

    private AdapterCombinations() {}

    private static AdapterCombination factorwise(MethodParams p, Prune prune, boolean ties) {
        return new FactorwiseCombination(p.method(), new PeftMergeFunctions.Spec(prune, ties, byFrequency(p), density(p, prune)));
    }

    private static AdapterCombination svd(MethodParams p, Prune prune, boolean ties) {
        return new SvdCombination(new PeftMergeFunctions.Spec(prune, ties, byFrequency(p), density(p, prune)), (int) p.number("svd_rank", 0),
                p.has("svd_clamp") ? p.number("svd_clamp", Double.NaN) : Double.NaN);
    }

    private static boolean byFrequency(MethodParams p) {
        return "frequency".equals(p.has("majority_sign_method") ? p.string("majority_sign_method", "total") : "total");
    }

    private static double density(MethodParams p, Prune prune) {
        if (prune == Prune.NONE) return 1;
        if (!p.has("density")) throw new io.weightlab.common.error.UsageException(p.method() + ": density is required (e.g. " + p.method() + ":density=0.5)");
        return p.number("density", 1);
    }

    public static MethodCatalog<AdapterCombination> catalog() { return CATALOG; }

    /** The combination for {@code name:k=v,...}; unknown names and parameters, values out of range: one clear line. */
    public static AdapterCombination create(String name, Map<String, String> params) {
        return CATALOG.create(name, params, f -> null);
    }
}
