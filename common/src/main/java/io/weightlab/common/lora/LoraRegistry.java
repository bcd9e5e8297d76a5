package io.weightlab.common.lora;

import io.weightlab.common.transform.MethodParams;
import io.weightlab.common.error.UsageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA initialisations by PEFT's names ({@code init_lora_weights}); one line per method. Parameters come from
 * {@code --init-param k=v}; a parameter the method does not read is an error. {@code eva} is listed here for its
 * name and parameters; its rank redistribution across modules runs in the job ({@link EvaInitializer#redistribute}).
 */
public final class LoraRegistry {
    private static final Map<String, Function<MethodParams, LoraInitializer>> METHODS = new LinkedHashMap<>();
    private static final Pattern NITER = Pattern.compile("pissa_niter_(\\d+)");

    static {
        METHODS.put("pissa", PissaInitializer::new);
        METHODS.put("milora", p -> new MiloraInitializer());
        METHODS.put("olora", p -> new OloraInitializer());
        METHODS.put("mica", p -> new MicaInitializer());
        METHODS.put("kaiming", p -> new PlainLoraInitializer(PlainLoraInitializer.Kind.KAIMING));
        METHODS.put("gaussian", p -> new PlainLoraInitializer(PlainLoraInitializer.Kind.GAUSSIAN));
        METHODS.put("orthogonal", p -> new PlainLoraInitializer(PlainLoraInitializer.Kind.ORTHOGONAL));
        METHODS.put("lora_ga", LoraGaInitializer::new);
        METHODS.put("lora_sb", LoraSbInitializer::new);
        METHODS.put("eva", EvaInitializer::new);
    }

    private LoraRegistry() {}

    public static LoraInitializer create(String name) {
        return create(name, Map.of());
    }

    public static LoraInitializer create(String name, Map<String, String> params) {
        MethodParams p = new MethodParams(name, params == null ? Map.of() : params,
                f -> { throw new UsageException(name + ": file parameters are not supported"); });
        Matcher m = NITER.matcher(name);
        LoraInitializer init;
        if (m.matches()) {
            init = new PissaNiterInitializer(Integer.parseInt(m.group(1)));
        } else {
            Function<MethodParams, LoraInitializer> s = METHODS.get(name.equals("true") ? "kaiming" : name);
            if (s == null) throw new UsageException("unknown LoRA init '" + name + "'; known: " + String.join(", ", METHODS.keySet()) + ", pissa_niter_K");
            init = s.apply(p);
        }
        p.rejectUnread();
        return init;
    }
}
