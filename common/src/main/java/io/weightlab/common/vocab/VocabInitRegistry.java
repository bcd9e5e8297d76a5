package io.weightlab.common.vocab;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;

import java.util.Map;

/** Initialisers of new token rows by name, one line per method with its declared parameters (docs/methods.md). */
public final class VocabInitRegistry {
    private static final MethodCatalog<VocabInit> CATALOG = new MethodCatalog<VocabInit>("vocabulary init")
            .register(MethodInfo.of("random", "every element N(0, std^2)",
                    Param.positive("std", "the model's initializer_range (0.02 without one)", "standard deviation")),
                    p -> new VocabInits.Random(p.has("std") ? p.positive("std", 0.02) : null))
            .register(MethodInfo.of("mean", "the mean of the existing rows (Hewitt 2021)"), p -> new VocabInits.Mean())
            .register(MethodInfo.of("gaussian", "N(mean, scale x covariance) of the existing rows, computed on executors (Hewitt 2021)",
                    Param.positive("scale", "1e-5", "kappa: the covariance's factor (Hewitt's code 1e-5; transformers' mean_resizing 1e-9; 1 for the fitted covariance itself)")),
                    p -> new VocabInits.Gaussian(p.positive("scale", 1e-5)))
            .register(MethodInfo.of("subword-mean", "the mean of the rows of the pieces the old tokenizer splits the token into (FVT, Gee et al. 2022)"),
                    p -> new VocabInits.SubwordMean())
            .register(MethodInfo.of("convex", "a point of the convex hull of the pieces' rows, Dirichlet(alpha) weights from (seed, token) (CW2V's constraint, Mundra et al. 2024)",
                    Param.positive("alpha", "1", "Dirichlet concentration: large gives the pieces' mean, small a vertex")),
                    p -> new VocabInits.Convex(p.positive("alpha", 1)));

    private VocabInitRegistry() {}

    /** {@code spec} is {@code NAME} or {@code NAME:k=v,...}. */
    public static VocabInit create(String spec) {
        Map.Entry<String, Map<String, String>> s = MethodCatalog.parseSpec(spec);
        return CATALOG.create(s.getKey(), s.getValue(), f -> null);
    }

    public static MethodCatalog<VocabInit> catalog() { return CATALOG; }
}
