package io.weightlab.common.merge;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.weightlab.common.merge.TaskArithmeticFamily.Sparsifier.DELLA;
import static io.weightlab.common.merge.TaskArithmeticFamily.Sparsifier.MAGNITUDE;
import static io.weightlab.common.merge.TaskArithmeticFamily.Sparsifier.NONE;
import static io.weightlab.common.merge.TaskArithmeticFamily.Sparsifier.OUTLIERS;
import static io.weightlab.common.merge.TaskArithmeticFamily.Sparsifier.RANDOM;

/** Merge methods by mergekit's names, one line each with mergekit's parameters and defaults (docs/methods.md). */
public final class MergeRegistry {
    private static final Param WEIGHT = Param.number("weight", null, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY,
            "per model: the model's weight (required)");
    private static final Param DENSITY = new Param("density", Param.Type.NUMBER, "1.0", 0, 1, true, false, List.of(),
            "per model: fraction of the task vector kept, in (0, 1]");
    private static final Param GAMMA = Param.number("gamma", "0.01", 0, 1, "per model: fraction of the largest |τ| dropped (breadcrumbs)");
    private static final Param EPSILON = Param.number("epsilon", "0.15", 0, 1,
            "per model: keep probabilities run from density − epsilon (smallest |τ| of a row) to density + epsilon (largest); both in (0, 1)");
    private static final Param LAMBDA = Param.number("lambda", "1.0", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY,
            "scale of the merged task vector");
    private static final Param INT8 = Param.flag("int8_mask", false, "accepted for mergekit recipes; no effect (masks are booleans here)");

    private static Param normalize(boolean dflt) {
        return Param.flag("normalize", dflt, "divide by the summed weights (of the models that agree in sign, with consensus)");
    }

    private static Param rescale(boolean dflt) {
        return Param.flag("rescale", dflt, "rescale the kept task vector to its original L1 norm (mergekit's DARE rescale)");
    }

    private static final MethodCatalog<MergeMethod> CATALOG = new MethodCatalog<MergeMethod>("merge method")
            .register(MethodInfo.of("linear", "Σ w_i x_i / Σ w_i (model soups, Wortsman et al. 2022)", WEIGHT, normalize(true)), p -> new Linear())
            .register(MethodInfo.of("task_arithmetic", "b + λ Σ w_i (x_i − b) (Ilharco et al. 2023)", WEIGHT, LAMBDA, normalize(false), INT8),
                    p -> new TaskArithmeticFamily(NONE, false))
            .register(MethodInfo.of("ties", "trim to the top density of |τ|, elect sign by weighted sum, disjoint mean (Yadav et al. 2023)",
                    WEIGHT, DENSITY, LAMBDA, normalize(true), INT8), p -> new TaskArithmeticFamily(MAGNITUDE, true))
            .register(MethodInfo.of("dare_linear", "random drop with keep probability density, L1 rescale, weighted sum (Yu et al. 2024)",
                    WEIGHT, DENSITY, LAMBDA, normalize(false), rescale(true), INT8), p -> new TaskArithmeticFamily(RANDOM, false))
            .register(MethodInfo.of("dare_ties", "DARE's random drop and rescale, then TIES' sign consensus (Yu et al. 2024)",
                    WEIGHT, DENSITY, LAMBDA, normalize(false), rescale(true), INT8), p -> new TaskArithmeticFamily(RANDOM, true))
            .register(MethodInfo.of("breadcrumbs", "drop the largest gamma and the smallest |τ| so density stays, weighted sum (Davari and Belilovsky 2024)",
                    WEIGHT, DENSITY, GAMMA, LAMBDA, normalize(false), INT8), p -> new TaskArithmeticFamily(OUTLIERS, false))
            .register(MethodInfo.of("breadcrumbs_ties", "breadcrumbs' outlier band, then TIES' sign consensus",
                    WEIGHT, DENSITY, GAMMA, LAMBDA, normalize(false), INT8), p -> new TaskArithmeticFamily(OUTLIERS, true))
            .register(MethodInfo.of("della", "keep by |τ| rank within each row with probability density ± epsilon, L1 rescale, TIES' sign consensus (Deep et al. 2024)",
                    WEIGHT, DENSITY, EPSILON, LAMBDA, normalize(true), rescale(true), INT8), p -> new TaskArithmeticFamily(DELLA, true))
            .register(MethodInfo.of("della_linear", "DELLA's magnitude-ranked drop and L1 rescale, weighted sum",
                    WEIGHT, DENSITY, EPSILON, LAMBDA, normalize(false), rescale(true), INT8), p -> new TaskArithmeticFamily(DELLA, false))
            .register(MethodInfo.of("slerp", "spherical interpolation of the base and one model (Shoemake 1985)",
                    Param.number("t", null, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, "interpolation factor: 0 = base, 1 = the other model (required)")),
                    p -> new Slerp())
            .register(MethodInfo.of("nuslerp", "spherical interpolation of two models (or of their task vectors with a base) at t = w2/(w1+w2)",
                    WEIGHT, Param.flag("nuslerp_flatten", true, "interpolate whole tensors (false: each row W[i,:] on its own)"),
                    Param.flag("nuslerp_row_wise", false, "with nuslerp_flatten false: each column W[:,j] (vectors along the first dimension) instead of each row")), p -> new NuSlerp())
            .register(MethodInfo.of("model_stock", "t·mean(x_i) + (1−t)·b, t from the mean pairwise cosine of the task vectors (Jang et al. 2024)",
                    Param.flag("filter_wise", false, "one t per row (true is not implemented)")), p -> new ModelStock())
            .register(MethodInfo.of("karcher", "Riemannian mean of the directions on the unit sphere, times the mean norm; the base is an input",
                    Param.integer("max_iter", "10", 0, 10_000, "iterations of the Karcher mean at most"),
                    Param.number("tol", "1e-5", 0, Double.POSITIVE_INFINITY, "stop when the tangent step is shorter; norms and angles below it are skipped")),
                    p -> new Karcher())
            .register(MethodInfo.of("sce", "matrix-level weights mean(τ²)/Σ mean(τ²), sign consensus, weighted mean of the agreeing deltas (Wan et al. 2024)",
                    Param.number("select_topk", "1.0", 0, 1, "fraction of the positions with nonzero variance across models kept, those of highest variance (1: all, no ranking pass)"), INT8),
                    p -> new Sce())
            .register(MethodInfo.of("passthrough", "one model's tensors as they are (times scale); with slices: layer ranges of models stacked (frankenmerges)",
                    Param.number("scale", "1.0", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, "per model: factor on its tensors")),
                    p -> new Passthrough());

    private MergeRegistry() {}

    public static Set<String> names() { return CATALOG.names(); }

    public static MethodCatalog<MergeMethod> catalog() { return CATALOG; }

    public static MethodInfo info(String name) { return CATALOG.info(name); }

    public static MergeMethod create(String name) {
        return CATALOG.create(name, Map.of(), f -> null);
    }

    /** Checks resolved values against the declaration (range, type): the one place "density=1.5 is outside (0, 1]" comes from. */
    public static void check(String name, Map<String, String> values) {
        CATALOG.checkParams(name, values);
    }
}
