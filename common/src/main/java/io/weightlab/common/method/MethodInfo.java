package io.weightlab.common.method;

import java.util.List;

/** What a method is: its name, other names, a one-line doc and its declared parameters. */
public record MethodInfo(String name, List<String> aliases, String doc, List<Param> params) {
    public static MethodInfo of(String name, String doc, Param... params) {
        return new MethodInfo(name, List.of(), doc, List.of(params));
    }

    public MethodInfo withAliases(String... aliases) {
        return new MethodInfo(name, List.of(aliases), doc, params);
    }

    public Param param(String key) {
        for (Param p : params) if (p.name().equals(key)) return p;
        return null;
    }
}
