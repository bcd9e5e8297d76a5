package io.weightlab.common.linalg;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * WeightWatcher's eigenvector localisation metrics (docs/algorithms.md §7.7): for each eigenvector v of the
 * smaller-side Gram matrix, loc_ratio = ‖v‖₁/‖v‖∞, part_ratio = ‖v‖₂/‖v‖₄ and the 100-bin discrete entropy of |v|,
 * averaged separately over the bulk (λ &lt; xmin) and the power-law tail (λ ≥ xmin).
 */
public final class VectorLocalization {
    /** WeightWatcher's {@code discrete_entropy(vec, num_bins=100)}. */
    public static final int BINS = 100;
    static final String[] METRICS = {"vec_entropy", "loc_ratio", "part_ratio"};

    private VectorLocalization() {}

    /** One eigenvector's metrics, with the eigenvalue λ that places it in the bulk or the tail. */
    public record Metrics(double eigenvalue, double vecEntropy, double locRatio, double partRatio) {
        double get(int i) {
            return i == 0 ? vecEntropy : i == 1 ? locRatio : partRatio;
        }
    }

    public static Metrics of(double eigenvalue, double[] v) {
        return new Metrics(eigenvalue, discreteEntropy(v), localizationRatio(v), participationRatio(v));
    }

    /** ‖v‖₁/‖v‖∞: n for a flat vector, 1 for a basis vector. */
    public static double localizationRatio(double[] v) {
        double l1 = 0, max = 0;
        for (double x : v) {
            l1 += Math.abs(x);
            max = Math.max(max, Math.abs(x));
        }
        return l1 / max;
    }

    /** ‖v‖₂/‖v‖₄: n^{1/4} for a flat vector, 1 for a basis vector. */
    public static double participationRatio(double[] v) {
        double s2 = 0, s4 = 0;
        for (double x : v) {
            s2 += x * x;
            s4 += x * x * x * x;
        }
        return Math.sqrt(s2) / Math.pow(s4, 0.25);
    }

    /**
     * WeightWatcher's discrete_entropy: np.histogram(|v| − mean|v|, bins=100, density=True), + 1e-10, ÷ √(2π),
     * normalised to p, then −Σ p ln p. The bins follow np.histogram's uniform-bin rule (edges from np.linspace,
     * the last bin closed, ±0.5 around a constant vector) so values match numpy's, not just approximately.
     */
    public static double discreteEntropy(double[] v) {
        int n = v.length;
        double[] x = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            x[i] = Math.abs(v[i]);
            mean += x[i];
        }
        mean /= n;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            x[i] -= mean;
            lo = Math.min(lo, x[i]);
            hi = Math.max(hi, x[i]);
        }
        if (lo == hi) {
            lo -= 0.5;
            hi += 0.5;
        }
        double[] edges = new double[BINS + 1];
        double step = (hi - lo) / BINS;
        for (int i = 0; i <= BINS; i++) edges[i] = i * step + lo;
        edges[BINS] = hi;
        long[] counts = new long[BINS];
        for (double a : x) {
            int b = (int) ((a - lo) / (hi - lo) * BINS);
            if (b == BINS) b--;
            // numpy's correction for the index being off by one ulp at an edge
            if (a < edges[b]) b--;
            else if (b != BINS - 1 && a >= edges[b + 1]) b++;
            counts[b]++;
        }
        double[] p = new double[BINS];
        double sum = 0;
        for (int i = 0; i < BINS; i++) {
            double density = counts[i] / (edges[i + 1] - edges[i]) / n;
            p[i] = (density + 1e-10) / Math.sqrt(2 * Math.PI);
            sum += p[i];
        }
        double h = 0;
        for (int i = 0; i < BINS; i++) {
            double q = p[i] / sum;
            h -= q * Math.log(q);
        }
        return h;
    }

    /**
     * The {bulk,tail}_{mean,var}_{vec_entropy,loc_ratio,part_ratio} columns (WeightWatcher's names; var is numpy's
     * population variance). Tail: λ ≥ xmin. Without a usable xmin (no fit, or a failed one: not positive or NaN)
     * every vector is bulk and the tail columns are NaN; an empty group gives NaN.
     */
    public static Map<String, Object> columns(List<Metrics> vectors, double xmin) {
        boolean split = xmin > 0 && Double.isFinite(xmin);
        Map<String, Object> m = new LinkedHashMap<>();
        for (String part : new String[] {"bulk", "tail"}) {
            boolean tail = part.equals("tail");
            for (String stat : new String[] {"mean", "var"}) {
                for (int k = 0; k < METRICS.length; k++) {
                    double s = 0, s2 = 0;
                    int c = 0;
                    for (Metrics v : vectors) {
                        boolean inTail = split && v.eigenvalue() >= xmin;
                        if (inTail != tail) continue;
                        s += v.get(k);
                        c++;
                    }
                    double mean = s / c;
                    for (Metrics v : vectors) {
                        boolean inTail = split && v.eigenvalue() >= xmin;
                        if (inTail == tail) s2 += (v.get(k) - mean) * (v.get(k) - mean);
                    }
                    m.put(part + "_" + stat + "_" + METRICS[k], c == 0 ? Double.NaN : stat.equals("mean") ? mean : s2 / c);
                }
            }
        }
        return m;
    }

    /** The same columns, all NaN: a route that keeps no singular vectors. */
    public static Map<String, Object> missing() {
        Map<String, Object> m = columns(List.of(), Double.NaN);
        m.replaceAll((k, v) -> Double.NaN);
        return m;
    }

    /**
     * The eigenvectors of the smaller-side Gram matrix from thin SVD factors: U's columns when rows ≤ cols (WWᵀ, as
     * WeightWatcher picks it), else Vᵀ's rows; each with its eigenvalue scale²·s².
     */
    public static void addShortSide(Lapack.Factors f, double scale, List<Metrics> into) {
        int rows = f.rows(), cols = f.cols(), k = f.k();
        boolean wide = rows <= cols;
        double[] v = new double[k];
        for (int t = 0; t < k; t++) {
            for (int i = 0; i < k; i++) v[i] = wide ? f.u()[i * k + t] : f.vt()[t * cols + i];
            double s = f.s()[t] * scale;
            into.add(of(s * s, v));
        }
    }
}
