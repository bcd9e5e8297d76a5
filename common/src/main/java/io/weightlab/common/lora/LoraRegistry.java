package io.weightlab.common.lora;

import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;
import io.weightlab.common.error.UsageException;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA initialisations by PEFT's names ({@code init_lora_weights}); one line per method with its declared
 * parameters (docs/methods.md), given as {@code --method NAME:k=v,...} (or {@code --init-param k=v}). {@code eva} is listed here for its
 * name and parameters; its rank redistribution across modules runs in the job ({@link EvaInitializer#redistribute}).
 */
public final class LoraRegistry {
    private static final Pattern NITER = Pattern.compile("pissa_niter_(\\d+)");
    private static final MethodCatalog<LoraInitializer> CATALOG = new MethodCatalog<LoraInitializer>("LoRA init")
            .register(MethodInfo.of("pissa", "top-r singular triplets of W; the base keeps the residual (docs/algorithms.md §3.1)",
                    Param.choice("svd", "gram", List.of("gram", "gesdd"), "gram: top-r from the short side's Gram matrix; gesdd: a full SVD")), PissaInitializer::new)
            .register(MethodInfo.of("pissa_niter_K", "PiSSA from torch.svd_lowrank's randomized subspace with K power iterations (name it pissa_niter_4, ...)"),
                    p -> { throw new UsageException("pissa_niter_K: name the power iterations, e.g. pissa_niter_4"); })
            .register(MethodInfo.of("milora", "the r smallest singular triplets (docs/algorithms.md §3.3)"), p -> new MiloraInitializer())
            .register(MethodInfo.of("olora", "QR of W: A = R's first rows, B = Q's first columns (docs/algorithms.md §3.2)"), p -> new OloraInitializer())
            .register(MethodInfo.of("mica", "PEFT's MiCA: the minor singular directions, B zero (docs/algorithms.md §3.3)"), p -> new MicaInitializer())
            .register(MethodInfo.of("kaiming", "PEFT's default (init_lora_weights=True): A kaiming-uniform, B zero").withAliases("true"),
                    p -> new PlainLoraInitializer(PlainLoraInitializer.Kind.KAIMING))
            .register(MethodInfo.of("gaussian", "A ~ N(0, 1/r), B zero"), p -> new PlainLoraInitializer(PlainLoraInitializer.Kind.GAUSSIAN))
            .register(MethodInfo.of("orthogonal", "A and B from one orthogonal matrix, as PEFT's orthogonal init"),
                    p -> new PlainLoraInitializer(PlainLoraInitializer.Kind.ORTHOGONAL))
            .register(MethodInfo.of("lora_ga", "gradient-aligned init from --gradients (docs/algorithms.md §3.6)",
                    Param.choice("variant", "peft", List.of("peft", "original"), "PEFT's port or the paper's code"),
                    Param.choice("direction", "ArB2r", List.of("ArB2r", "A2rBr", "ArBr", "random"), "which singular vectors go to A and B"),
                    Param.string("scale", "stable", "peft: stable|weight_svd|gd_scale|unit; original: stable|gd|unit|weightS"),
                    Param.positive("stable_gamma", "16", "gamma of the stable scale")), LoraGaInitializer::new)
            .register(MethodInfo.of("lora_sb", "LoRA-SB from --gradients: r x r R between fixed A and B (docs/algorithms.md §3.7)",
                    Param.positive("eta", "1", "the step the first gradient is scaled by (or give lr, warmup_ratio, total_steps)"),
                    Param.positive("lr", "1", "training learning rate (eta = lr / (warmup_ratio * total_steps))"),
                    Param.positive("warmup_ratio", "1", "warm-up fraction of training"),
                    Param.positive("total_steps", "1", "training steps")), LoraSbInitializer::new)
            .register(MethodInfo.of("eva", "explained-variance adaptation from --activations (docs/algorithms.md §3.5)",
                    Param.number("rho", "2", 1, Double.POSITIVE_INFINITY, "rank budget multiplier for the redistribution"),
                    Param.flag("whiten", false, "whiten the components"),
                    Param.flag("adjust_scaling_factors", true, "keep alpha/r per module after redistribution")), EvaInitializer::new);

    private LoraRegistry() {}

    public static LoraInitializer create(String name) {
        return create(name, Map.of());
    }

    /** By PEFT's name ({@code true} is {@code kaiming}; {@code pissa_niter_K} carries K in its name). */
    public static LoraInitializer create(String name, Map<String, String> params) {
        Matcher m = NITER.matcher(name);
        if (m.matches()) {
            CATALOG.checkParams("pissa_niter_K", params);
            return new PissaNiterInitializer(Integer.parseInt(m.group(1)));
        }
        return CATALOG.create(name, params, f -> { throw new UsageException(name + ": file parameters are not supported"); });
    }

    /** The declarations, for --list-methods and docs/methods.md. */
    public static MethodCatalog<LoraInitializer> catalog() { return CATALOG; }
}
