package io.weightlab.common.method;

import io.weightlab.common.error.UsageException;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * One declared parameter of a method: its name, type, default, allowed values and a one-line doc, as mergekit
 * declares its merge methods' parameters. Values given by a user are checked against it before the method runs.
 */
public record Param(String name, Type type, String defaultValue, double min, double max, boolean minExclusive,
                    boolean maxExclusive, List<String> choices, String doc) implements Serializable {
    public enum Type { NUMBER, INTEGER, FLAG, CHOICE, STRING, FILE }

    /** A number in [min, max]; the default printed as given. */
    public static Param number(String name, String dflt, double min, double max, String doc) {
        return new Param(name, Type.NUMBER, dflt, min, max, false, false, List.of(), doc);
    }

    /** A number in [min, max). */
    public static Param numberBelow(String name, String dflt, double min, double max, String doc) {
        return new Param(name, Type.NUMBER, dflt, min, max, false, true, List.of(), doc);
    }

    /** A number above 0. */
    public static Param positive(String name, String dflt, String doc) {
        return new Param(name, Type.NUMBER, dflt, 0, Double.POSITIVE_INFINITY, true, false, List.of(), doc);
    }

    public static Param integer(String name, String dflt, long min, long max, String doc) {
        return new Param(name, Type.INTEGER, dflt, min, max, false, false, List.of(), doc);
    }

    public static Param flag(String name, boolean dflt, String doc) {
        return new Param(name, Type.FLAG, Boolean.toString(dflt), 0, 0, false, false, List.of(), doc);
    }

    public static Param choice(String name, String dflt, List<String> choices, String doc) {
        return new Param(name, Type.CHOICE, dflt, 0, 0, false, false, List.copyOf(choices), doc);
    }

    /** Free text (e.g. a rule like std=kaiming); the method checks it. */
    public static Param string(String name, String dflt, String doc) {
        return new Param(name, Type.STRING, dflt, 0, 0, false, false, List.of(), doc);
    }

    /** A file (file://, hdfs://, s3a://) the method reads. */
    public static Param file(String name, String doc) {
        return new Param(name, Type.FILE, null, 0, 0, false, false, List.of(), doc);
    }

    /** Refuses a value of the wrong type or out of range, naming the method, the parameter and what is allowed. */
    public void check(String method, String value) {
        String where = method + ": parameter " + name + "=" + value;
        switch (type) {
            case NUMBER, INTEGER -> {
                double v;
                try {
                    v = type == Type.INTEGER ? Long.parseLong(value) : Double.parseDouble(value);
                } catch (NumberFormatException e) {
                    throw new UsageException(where + " is not " + (type == Type.INTEGER ? "an integer" : "a number"));
                }
                boolean below = minExclusive ? !(v > min) : !(v >= min);
                boolean above = maxExclusive ? !(v < max) : v > max;
                boolean positive = minExclusive && min == 0 && Double.isInfinite(max);
                if (below || above) throw new UsageException(where + " is outside " + range() + (positive ? " (must be positive)" : ""));
            }
            case FLAG -> {
                if (!List.of("true", "false", "yes", "no", "1", "0").contains(value.toLowerCase(Locale.ROOT))) {
                    throw new UsageException(where + " is not true or false");
                }
            }
            case CHOICE -> {
                if (!choices.contains(value)) throw new UsageException(where + " is not one of " + String.join(", ", choices));
            }
            default -> { }
        }
    }

    /** "[0, 0.5]", "(0, ∞)", "true|false", "a|b|c", "file", "text". */
    public String range() {
        return switch (type) {
            case NUMBER, INTEGER -> (minExclusive ? "(" : "[") + fmt(min) + ", " + (Double.isInfinite(max) ? "∞)" : fmt(max) + (maxExclusive ? ")" : "]"));
            case FLAG -> "true|false";
            case CHOICE -> String.join("|", choices);
            case FILE -> "a file";
            case STRING -> "text";
        };
    }

    private static String fmt(double v) {
        return Double.isInfinite(v) ? (v > 0 ? "∞" : "-∞") : v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /** Type, allowed values and default: "number (0, ∞), default 0.02", "choice gram|gesdd, default gram", "file". */
    public String summary() {
        String t = switch (type) {
            case NUMBER, INTEGER, CHOICE -> type.name().toLowerCase(Locale.ROOT) + " " + range();
            case FLAG -> "flag";
            case FILE -> "file";
            case STRING -> "text";
        };
        return t + (defaultValue == null ? "" : ", default " + defaultValue);
    }
}
