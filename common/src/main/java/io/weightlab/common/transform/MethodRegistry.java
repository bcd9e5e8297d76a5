package io.weightlab.common.transform;

import io.weightlab.common.transform.methods.GgInit;
import io.weightlab.common.transform.methods.Gpt2ResidualInit;
import io.weightlab.common.transform.methods.IdInit;
import io.weightlab.common.transform.methods.KeepMethod;
import io.weightlab.common.transform.methods.LirInit;
import io.weightlab.common.transform.methods.LsuvRescaler;
import io.weightlab.common.transform.methods.NormalInit;
import io.weightlab.common.transform.methods.OrthogonalInit;
import io.weightlab.common.transform.methods.TargetStdRescaler;
import io.weightlab.common.transform.methods.TruncatedNormalInit;
import io.weightlab.common.transform.methods.TvrRescaler;
import io.weightlab.common.transform.methods.UniformInit;
import io.weightlab.common.error.UsageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Every rescale/reinit method by name, as PEFT registers its tuners: adding a method is one class and one line
 * here. A method is written {@code name[:key=value,...]}; presets are names with parameters filled in.
 */
public final class MethodRegistry {
    private record Entry(Function<MethodParams, WeightMethod> factory, Map<String, String> preset, String summary) {}

    private static final Map<String, Entry> METHODS = new LinkedHashMap<>();

    static {
        register("keep", KeepMethod::new, "leave the tensor as stored");
        register("tvr", TvrRescaler::new, "Target Variance Rescaling: shrink 2-D block weights to target_std (0.02) above ratio_threshold (1.2)");
        register("target-std", TargetStdRescaler::new, "rescale to std=<value|rule> or to another model's stats.json (from=), keeping the mean");
        register("lsuv", LsuvRescaler::new, "divide by sqrt of measured output variances (variances=<json>)");
        register("lir", LirInit::new, "Layer Index Rescaling init: N(0, (initializer_range/sqrt(l))^2) in block l");
        register("gpt2-residual", Gpt2ResidualInit::new, "GPT-2 init: residual output projections get initializer_range/sqrt(2 n_layer)");
        register("normal", NormalInit::new, "N(0, std^2); std=<value>|kaiming|kaiming_fan_out|xavier|lecun|lir|gpt2");
        register("uniform", UniformInit::new, "U(-sqrt(3) std, sqrt(3) std)");
        register("truncnormal", TruncatedNormalInit::new, "normal truncated at +-bound_sigmas (2), rescaled to the exact std");
        register("gg", GgInit::new, "generalized Gaussian with beta=<shape> or beta_from=<stats.json> (GG prior)");
        register("orthogonal", OrthogonalInit::new, "torch orthogonal_ (QR of a Gaussian), gain (1)");
        register("idinit", IdInit::new, "IDInit padded identity tau (1); eps (1e-6) on residual output projections");
        preset("kaiming_normal", "normal", Map.of("std", "kaiming"));
        preset("kaiming_uniform", "uniform", Map.of("std", "kaiming"));
        preset("xavier_normal", "normal", Map.of("std", "xavier"));
        preset("xavier_uniform", "uniform", Map.of("std", "xavier"));
    }

    private MethodRegistry() {}

    private static void register(String name, Function<MethodParams, WeightMethod> factory, String summary) {
        METHODS.put(name, new Entry(factory, Map.of(), summary));
    }

    private static void preset(String name, String base, Map<String, String> params) {
        Entry e = METHODS.get(base);
        METHODS.put(name, new Entry(e.factory(), params, base + " with " + params));
    }

    /** Builds a method from {@code name[:k=v,...]}; {@code files} reads files named by parameters. */
    public static WeightMethod create(String spec, Function<String, byte[]> files) {
        int colon = spec.indexOf(':');
        String name = (colon < 0 ? spec : spec.substring(0, colon)).trim();
        Entry e = METHODS.get(name);
        if (e == null) throw new UsageException("unknown method '" + name + "'; known: " + String.join(", ", METHODS.keySet()));
        Map<String, String> params = new LinkedHashMap<>(e.preset());
        if (colon >= 0 && colon + 1 < spec.length()) {
            for (String kv : spec.substring(colon + 1).split(",")) {
                int eq = kv.indexOf('=');
                if (eq <= 0) throw new UsageException(name + ": parameter '" + kv + "' is not key=value");
                params.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        MethodParams p = new MethodParams(name, params, files);
        WeightMethod m = e.factory().apply(p);
        p.rejectUnread();
        return m;
    }

    /** Name → one-line summary, for --help and the docs. */
    public static Map<String, String> summaries() {
        Map<String, String> m = new LinkedHashMap<>();
        METHODS.forEach((k, v) -> m.put(k, v.summary()));
        return m;
    }
}
