package io.weightlab.common.lora;

import io.weightlab.common.io.UsageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** LoRA initialisations by PEFT's names ({@code init_lora_weights}); one line per method. */
public final class LoraRegistry {
    private static final Map<String, Supplier<LoraInitializer>> METHODS = new LinkedHashMap<>();
    private static final Pattern NITER = Pattern.compile("pissa_niter_(\\d+)");

    static {
        METHODS.put("pissa", PissaInitializer::new);
        METHODS.put("milora", MiloraInitializer::new);
        METHODS.put("olora", OloraInitializer::new);
        METHODS.put("mica", MicaInitializer::new);
        METHODS.put("kaiming", () -> new PlainLoraInitializer(PlainLoraInitializer.Kind.KAIMING));
        METHODS.put("gaussian", () -> new PlainLoraInitializer(PlainLoraInitializer.Kind.GAUSSIAN));
        METHODS.put("orthogonal", () -> new PlainLoraInitializer(PlainLoraInitializer.Kind.ORTHOGONAL));
    }

    private LoraRegistry() {}

    public static LoraInitializer create(String name) {
        Matcher m = NITER.matcher(name);
        if (m.matches()) return new PissaNiterInitializer(Integer.parseInt(m.group(1)));
        Supplier<LoraInitializer> s = METHODS.get(name.equals("true") ? "kaiming" : name);
        if (s == null) throw new UsageException("unknown LoRA init '" + name + "'; known: " + String.join(", ", METHODS.keySet()) + ", pissa_niter_K");
        return s.get();
    }
}
