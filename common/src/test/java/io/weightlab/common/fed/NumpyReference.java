package io.weightlab.common.fed;

import io.weightlab.common.testing.Python;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

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
            def out(name, a):
                print(name, *[repr(float(x)) for x in np.ravel(np.asarray(a, dtype=np.float64))])
            """;

    /** Which module sets (with scipy or not) were found importable in this JVM; each is checked once. */
    private static final Set<Boolean> AVAILABLE = ConcurrentHashMap.newKeySet();

    private NumpyReference() {}

    /** Runs {@code script} after binding each input (double, double[], double[][]) to a numpy name; returns what it printed with out(). */
    static Map<String, double[]> run(Map<String, Object> inputs, String script) {
        boolean scipy = script.contains("scipy."); // imported only where used: it costs a second per run
        if (!AVAILABLE.contains(scipy)) {
            Python.require(scipy ? new String[] {"numpy", "scipy"} : new String[] {"numpy"}); // skips the test when missing
            AVAILABLE.add(scipy);
        }
        StringBuilder code = new StringBuilder(scipy ? "import scipy.stats\n" : "").append(PRELUDE);
        inputs.forEach((name, value) -> code.append(name).append(" = ").append(literal(value)).append('\n'));
        code.append(script);
        Python.Result r = Python.exec(List.of(Python.exe(), scriptFile(code.toString()).toString()), 120);
        if (r.exit() != 0) fail("numpy reference failed (" + r.exit() + "):\n" + r.stderr() + "\nscript (after the inputs):\n" + script);
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

    /** The script goes through a file: inputs of a few thousand values exceed what one command-line argument may hold. */
    private static Path scriptFile(String code) {
        try {
            Path f = Files.createTempFile("numpy-reference", ".py");
            f.toFile().deleteOnExit();
            return Files.writeString(f, code);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
