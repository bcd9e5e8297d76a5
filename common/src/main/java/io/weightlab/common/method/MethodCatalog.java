package io.weightlab.common.method;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * One registry shape for every kind of method (init/rescale methods, LoRA initialisers, element and LoRA
 * aggregators, server optimisers; docs/methods.md): a method is one class plus one {@link #register} line with its
 * {@link MethodInfo}. Creating a method checks its name and every given parameter against the declaration first
 * ("did you mean" for a misspelling, the allowed range for a bad value), so a typo never falls back to a default.
 * {@code --list-methods} is {@link #listing()}, generated from the same declarations.
 */
public final class MethodCatalog<T> {
    private record Entry<T>(MethodInfo info, Function<MethodParams, T> factory, Map<String, String> preset) {}

    private final String kind;
    private final Map<String, Entry<T>> entries = new LinkedHashMap<>();
    private final Map<String, String> aliases = new LinkedHashMap<>();

    /** {@code kind} names the methods in errors and listings, e.g. "LoRA init". */
    public MethodCatalog(String kind) {
        this.kind = kind;
    }

    public MethodCatalog<T> register(MethodInfo info, Function<MethodParams, T> factory) {
        entries.put(info.name(), new Entry<>(info, factory, Map.of()));
        for (String a : info.aliases()) aliases.put(a, info.name());
        return this;
    }

    /** A name that is another method with some parameters fixed (kaiming_normal = normal:std=kaiming). */
    public MethodCatalog<T> preset(String name, String base, Map<String, String> params) {
        Entry<T> e = entries.get(base);
        MethodInfo info = new MethodInfo(name, List.of(), base + " with " + params, e.info().params());
        entries.put(name, new Entry<>(info, e.factory(), Map.copyOf(params)));
        return this;
    }

    public Set<String> names() { return entries.keySet(); }

    public boolean has(String name) { return entries.containsKey(name) || aliases.containsKey(name); }

    /** The declaration of a method by name or alias; an unknown name is an error with "did you mean". */
    public MethodInfo info(String name) {
        return entry(name).info();
    }

    private Entry<T> entry(String name) {
        Entry<T> e = entries.get(aliases.getOrDefault(name, name));
        if (e != null) return e;
        List<String> known = new ArrayList<>(entries.keySet());
        known.addAll(aliases.keySet());
        throw new UsageException("unknown " + kind + " '" + name + "'" + Suggestions.didYouMean(name, known) + "; known: "
                + String.join(", ", entries.keySet()));
    }

    /** Builds {@code name} with {@code params} (checked against its declaration); {@code files} reads FILE parameters. */
    public T create(String name, Map<String, String> params, Function<String, byte[]> files) {
        Entry<T> e = entry(name);
        Map<String, String> all = new LinkedHashMap<>(e.preset());
        if (params != null) all.putAll(params);
        MethodParams p = new MethodParams(e.info().name(), all, files);
        return build(e, p);
    }

    /** As {@link #create}, for callers that already hold the parameters as {@link MethodParams}. */
    public T create(String name, MethodParams p) {
        return build(entry(name), p);
    }

    private T build(Entry<T> e, MethodParams p) {
        checkGiven(e.info(), p.given());
        T method = e.factory().apply(p);
        p.rejectUnread();
        return method;
    }

    /** Checks parameters against a method's declaration without building it (methods built from their name). */
    public void checkParams(String name, Map<String, String> params) {
        checkGiven(entry(name).info(), params == null ? Map.of() : params);
    }

    private static void checkGiven(MethodInfo info, Map<String, String> givenParams) {
        for (Map.Entry<String, String> given : givenParams.entrySet()) {
            Param decl = info.param(given.getKey());
            if (decl == null) {
                List<String> names = info.params().stream().map(Param::name).toList();
                throw new UsageException(info.name() + ": unknown parameter '" + given.getKey() + "'" + Suggestions.didYouMean(given.getKey(), names)
                        + (names.isEmpty() ? "; it takes no parameters" : "; its parameters: " + String.join(", ", names)));
            }
            decl.check(info.name(), given.getValue());
        }
    }

    /** {@code --list-methods}: every method with its aliases, doc and parameters, from the declarations. */
    public String listing() {
        StringBuilder s = new StringBuilder();
        for (Entry<T> e : entries.values()) {
            MethodInfo m = e.info();
            s.append(m.name());
            if (!m.aliases().isEmpty()) s.append(" (also ").append(String.join(", ", m.aliases())).append(')');
            s.append("\n    ").append(m.doc()).append('\n');
            for (Param p : m.params()) {
                String fixed = e.preset().get(p.name());
                s.append("    ").append(p.name()).append(fixed != null ? " = " + fixed + " (preset)" : "").append(": ")
                        .append(p.summary()).append(". ").append(p.doc()).append('\n');
            }
        }
        return s.toString();
    }

    /** Splits {@code name:k=v,k=v} (the one spelling of a method with parameters) into its name and parameters. */
    public static Map.Entry<String, Map<String, String>> parseSpec(String spec) {
        int colon = spec.indexOf(':');
        String name = (colon < 0 ? spec : spec.substring(0, colon)).trim();
        Map<String, String> params = new LinkedHashMap<>();
        if (colon >= 0 && colon + 1 < spec.length()) {
            for (String kv : spec.substring(colon + 1).split(",")) {
                int eq = kv.indexOf('=');
                if (eq <= 0) throw new UsageException(name + ": parameter '" + kv + "' is not key=value");
                params.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        return Map.entry(name, params);
    }
}
