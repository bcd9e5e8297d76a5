package io.weightlab.common.transform;

import io.weightlab.common.transform.methods.GgInit;
import io.weightlab.common.transform.methods.Gpt2ResidualInit;
import io.weightlab.common.transform.methods.IdInit;
import io.weightlab.common.transform.methods.KeepMethod;
import io.weightlab.common.transform.methods.LirInit;
import io.weightlab.common.transform.methods.LsuvRescaler;
import io.weightlab.common.transform.methods.NormalInit;
import io.weightlab.common.transform.methods.OrthogonalInit;
import io.weightlab.common.transform.methods.SvdSharpen;
import io.weightlab.common.transform.methods.SvdSmooth;
import io.weightlab.common.transform.methods.TargetStdRescaler;
import io.weightlab.common.transform.methods.TruncatedNormalInit;
import io.weightlab.common.transform.methods.TvrRescaler;
import io.weightlab.common.transform.methods.UniformInit;
import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Every rescale/reinit method by name, as PEFT registers its tuners: adding a method is one class and one line
 * here, with its declared parameters (docs/methods.md). A method is written {@code name[:key=value,...]}; presets
 * are names with parameters filled in.
 */
public final class MethodRegistry {
    /** The std rule every drawing method takes (StdRule): a number or a named rule, with its inputs. */
    private static final Param[] STD = {
            Param.string("std", null, "a number, or kaiming|kaiming_fan_out|xavier|lecun|lir|gpt2 (default: the method's)"),
            Param.positive("initializer_range", "0.02", "the config's initializer_range for the lir and gpt2 rules"),
            Param.positive("scale_factor", "1", "multiplies the rule's std"),
            Param.positive("gain", "sqrt(2) for kaiming, else 1", "nonlinearity gain of the kaiming/xavier/lecun rules")};
    private static final Param PADDING = Param.integer("padding_idx", "-1", -1, Long.MAX_VALUE, "embedding row left at zero (-1: none)");

    private static final MethodCatalog<WeightMethod> CATALOG = new MethodCatalog<WeightMethod>("method")
            .register(MethodInfo.of("keep", "leave the tensor as stored"), KeepMethod::new)
            .register(MethodInfo.of("tvr", "Target Variance Rescaling: shrink 2-D block weights to target_std above ratio_threshold (docs/algorithms.md §1.2)",
                    Param.positive("target_std", "0.02", "the std a rescaled weight gets"),
                    Param.positive("ratio_threshold", "1.2", "rescale only where std / target_std exceeds this"),
                    Param.flag("scale_with_depth", false, "divide the target by sqrt(2 * layer) as LIR does")), TvrRescaler::new)
            .register(MethodInfo.of("target-std", "rescale to std=<value|rule> or to another model's stats.json (from=), keeping the mean",
                    with(STD, Param.file("from", "another model's stats.json: each tensor gets that model's std_sample"))), TargetStdRescaler::new)
            .register(MethodInfo.of("lsuv", "divide by sqrt of measured output variances (docs/algorithms.md §6.1)",
                    Param.file("variances", "JSON of tensor name -> measured output variance"),
                    Param.flag("zero_bias", true, "zero the bias of a rescaled weight")), LsuvRescaler::new)
            .register(MethodInfo.of("lir", "Layer Index Rescaling init: N(0, (initializer_range/sqrt(l))^2) in block l (docs/algorithms.md §1.1)",
                    with(STD, PADDING)), LirInit::new)
            .register(MethodInfo.of("gpt2-residual", "GPT-2 init: residual output projections get initializer_range/sqrt(2 n_layer)",
                    with(STD, PADDING)), Gpt2ResidualInit::new)
            .register(MethodInfo.of("normal", "N(0, std^2) (default std 0.02)", with(STD, PADDING)), NormalInit::new)
            .register(MethodInfo.of("uniform", "U(-sqrt(3) std, sqrt(3) std) (default std 0.02)", with(STD, PADDING)), UniformInit::new)
            .register(MethodInfo.of("truncnormal", "normal truncated at +-bound_sigmas, rescaled to the exact std",
                    with(STD, PADDING, Param.positive("bound_sigmas", "2", "truncation bound in stds"))), TruncatedNormalInit::new)
            .register(MethodInfo.of("gg", "generalized Gaussian with shape beta, or each tensor's fitted beta from another model's stats.json (docs/algorithms.md §2.3)",
                    with(STD, PADDING, Param.positive("beta", "2", "GG shape (2: Gaussian, 1: Laplace)"),
                            Param.file("beta_from", "stats.json whose gg_beta each tensor takes"))), GgInit::new)
            .register(MethodInfo.of("orthogonal", "torch orthogonal_ (QR of a Gaussian)",
                    Param.positive("gain", "1", "multiplies the orthogonal matrix"),
                    Param.positive("max_elements", "134217728", "largest matrix built on one executor")), OrthogonalInit::new)
            .register(MethodInfo.of("idinit", "IDInit padded identity (docs/algorithms.md §6.2)",
                    Param.number("tau", "1", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, "scale of the identity"),
                    Param.number("eps", "1e-6", 0, Double.POSITIVE_INFINITY, "value of residual output projections (zero_last)"),
                    Param.flag("zero_last", true, "residual output projections get eps instead of the identity")), IdInit::new)
            .register(MethodInfo.of("svd-smooth", "WeightWatcher's SVDSmoothing: keep the top k singular triplets of each 2-D weight, W' = U_k S_k V_kᵀ (docs/algorithms.md §34)",
                    Param.choice("keep", "mp-spikes", List.of("mp-spikes", "topk", "fraction"), "how k is chosen: spikes above the Marchenko-Pastur edge, k=, or fraction="),
                    Param.integer("k", null, 1, Integer.MAX_VALUE, "singular triplets kept (keep=topk; more than the rank keeps all)"),
                    new Param("fraction", Param.Type.NUMBER, null, 0, 1, true, true, List.of(), "share of the rank kept, k = floor(fraction x rank) (keep=fraction)"),
                    Param.positive("max_elements", "67108864", "largest matrix factorized on one executor")), SvdSmooth::new)
            .register(MethodInfo.of("svd-sharpen", "WeightWatcher's SVDSharpness: remove the top k singular triplets of each 2-D weight, W' = W - U_k S_k V_kᵀ (docs/algorithms.md §34)",
                    Param.choice("remove", "traps", List.of("traps", "mp-spikes", "topk"), "how k is chosen: MP spikes of the permuted matrix (traps), of the matrix itself, or k="),
                    Param.integer("k", null, 1, Integer.MAX_VALUE, "singular triplets removed (remove=topk; more than the rank removes all)"),
                    Param.positive("max_elements", "67108864", "largest matrix factorized on one executor")), SvdSharpen::new)
            .preset("kaiming_normal", "normal", Map.of("std", "kaiming"))
            .preset("kaiming_uniform", "uniform", Map.of("std", "kaiming"))
            .preset("xavier_normal", "normal", Map.of("std", "xavier"))
            .preset("xavier_uniform", "uniform", Map.of("std", "xavier"));

    private MethodRegistry() {}

    private static Param[] with(Param[] base, Param... more) {
        Param[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    /** Builds a method from {@code name[:k=v,...]}; {@code files} reads files named by parameters. */
    public static WeightMethod create(String spec, Function<String, byte[]> files) {
        Map.Entry<String, Map<String, String>> s = MethodCatalog.parseSpec(spec);
        return CATALOG.create(s.getKey(), s.getValue(), files);
    }

    /** The declarations, for --list-methods and docs/methods.md. */
    public static MethodCatalog<WeightMethod> catalog() { return CATALOG; }
}
