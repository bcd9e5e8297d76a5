package io.weightlab.common.fed;

import io.weightlab.common.testing.Python;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The independent oracle of the federated tests: a numpy (and scipy) script written from the published formulas runs
 * on the same inputs as our code and hands back named float64 arrays. Inputs travel as Java's round-trip decimal
 * literals and outputs as Python's repr, so no value is rounded on the way.
 */
final class NumpyReference {
    private static final String PRELUDE = """
            import numpy as np
            import scipy.stats
            def out(name, a):
                print(name, *[repr(float(x)) for x in np.ravel(np.asarray(a, dtype=np.float64))])
            """;

    private NumpyReference() {}

    /** Runs {@code script} after binding each input (double, double[], double[][]) to a numpy name; returns what it printed with out(). */
    static Map<String, double[]> run(Map<String, Object> inputs, String script) {
        Python.require("numpy", "scipy");
        StringBuilder code = new StringBuilder(PRELUDE);
        inputs.forEach((name, value) -> code.append(name).append(" = ").append(literal(value)).append('\n'));
        code.append(script);
        Python.Result r = Python.exec(List.of(Python.exe(), "-c", code.toString()), 120);
        if (r.exit() != 0) fail("numpy reference failed (" + r.exit() + "):\n" + r.stderr() + "\nscript:\n" + code);
        Map<String, double[]> outputs = new LinkedHashMap<>();
        for (String line : r.stdout().split("\n")) {
            if (line.isBlank()) continue;
            String[] parts = line.trim().split(" ");
            double[] values = new double[parts.length - 1];
            for (int i = 1; i < parts.length; i++) values[i - 1] = parse(parts[i]);
            outputs.put(parts[0], values);
        }
        return outputs;
    }

    /** Element-wise comparison; {@code why} states the tolerance and its reason, and appears in every failure. */
    static void assertClose(double[] want, double[] got, double relative, double absolute, String why) {
        assertEquals(want.length, got.length, "length: " + why);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], relative * Math.abs(want[i]) + absolute, "element " + i + ": " + why);
        }
    }

    /** As {@link #assertClose} with the error bound {@code relative} of the largest |want|: for values formed by cancellation. */
    static void assertCloseNormwise(double[] want, double[] got, double relative, String why) {
        double scale = 0;
        for (double w : want) scale = Math.max(scale, Math.abs(w));
        assertClose(want, got, 0, relative * scale, why);
    }

    /** A deterministic N(mean, sd^2) vector. */
    static double[] gaussian(int n, double mean, double sd, long seed) {
        SplittableRandom g = new SplittableRandom(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = mean + sd * g.nextGaussian();
        return x;
    }

    private static String literal(Object v) {
        if (v instanceof double[][] rows) {
            StringBuilder s = new StringBuilder("np.array([");
            for (double[] row : rows) s.append(list(row)).append(',');
            return s.append("], dtype=np.float64)").toString();
        }
        if (v instanceof double[] row) return "np.array(" + list(row) + ", dtype=np.float64)";
        if (v instanceof Number n) return number(n.doubleValue());
        throw new IllegalArgumentException("unsupported input " + v);
    }

    private static String list(double[] row) {
        StringBuilder s = new StringBuilder("[");
        for (double x : row) s.append(number(x)).append(',');
        return s.append(']').toString();
    }

    private static String number(double x) {
        if (Double.isNaN(x)) return "float('nan')";
        if (Double.isInfinite(x)) return x > 0 ? "float('inf')" : "float('-inf')";
        return Double.toString(x); // shortest decimal that reads back as the same double, in Python too
    }

    private static double parse(String s) {
        return switch (s) {
            case "nan" -> Double.NaN;
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(s);
        };
    }
}
