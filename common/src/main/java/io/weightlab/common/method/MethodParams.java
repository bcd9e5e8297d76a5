package io.weightlab.common.method;

import io.weightlab.common.error.UsageException;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * A method's parameters as given on the command line ({@code tvr:target_std=0.01,ratio_threshold=1.5}), read
 * with defaults; a parameter the method never read is an error (a typo must not silently fall back to a default).
 * {@code files} reads a parameter that names a file (another checkpoint's stats.json, a variances file).
 */
public final class MethodParams {
    private final String method;
    private final Map<String, String> values;
    private final Function<String, byte[]> files;
    private final Set<String> read = new HashSet<>();

    public MethodParams(String method, Map<String, String> values, Function<String, byte[]> files) {
        this.method = method;
        this.values = new LinkedHashMap<>(values);
        this.files = files;
    }

    public String method() { return method; }

    /** The parameters as given (checked against the method's declaration before it reads them). */
    public Map<String, String> given() { return java.util.Collections.unmodifiableMap(values); }

    public boolean has(String key) {
        read.add(key);
        return values.containsKey(key);
    }

    public String string(String key, String dflt) {
        read.add(key);
        return values.getOrDefault(key, dflt);
    }

    public double number(String key, double dflt) {
        String v = string(key, null);
        if (v == null) return dflt;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException(method + ": parameter " + key + "=" + v + " is not a number");
        }
    }

    public double positive(String key, double dflt) {
        double v = number(key, dflt);
        if (!(v > 0) || Double.isInfinite(v)) throw new UsageException(method + ": parameter " + key + " must be a positive number, got " + v);
        return v;
    }

    public boolean flag(String key, boolean dflt) {
        String v = string(key, null);
        if (v == null) return dflt;
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new UsageException(method + ": parameter " + key + "=" + v + " is not true/false");
        };
    }

    /** The bytes of the file a parameter names. */
    public byte[] file(String key) {
        String path = string(key, null);
        if (path == null) throw new UsageException(method + ": parameter " + key + " (a file) is required");
        return files.apply(path);
    }

    /** Fails on parameters the method does not know. */
    public void rejectUnread() {
        Set<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(read);
        if (!unknown.isEmpty()) {
            throw new UsageException(method + ": unknown parameter(s) " + unknown + " (known: " + new TreeSet<>(read) + ")");
        }
    }
}
