package io.weightlab.jobs.spark;

import java.util.Locale;

/** Console formatting helpers. */
public final class Format {
    private Format() {}

    public static String bytes(long b) {
        if (b < 1024) return b + " B";
        String[] u = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int i = -1;
        while (v >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, u[i]);
    }

    public static String count(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.2fM", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.1fk", n / 1e3);
        return Long.toString(n);
    }

    /** Shortest round-trippable text of a double; "NaN"/"Infinity" spelled as Java does. */
    public static String number(double d) {
        return Double.toString(d);
    }

    public static String g(double d) {
        if (Double.isNaN(d)) return "nan";
        return String.format(Locale.ROOT, "%.4g", d);
    }
}
