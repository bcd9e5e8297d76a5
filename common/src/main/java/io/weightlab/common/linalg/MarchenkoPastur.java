package io.weightlab.common.linalg;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Marchenko–Pastur fit of a matrix's bulk (docs/algorithms.md, "Random-matrix metrics"). For an N x M matrix
 * (N ≥ M) of iid entries with variance σ², the M eigenvalues λ = s² of WᵀW fill [σ²(√N − √M)², σ²(√N + √M)²]
 * with the MP law of ratio γ = M/N. σ² is fitted by matching the ESD's median to the MP median (Gavish & Donoho
 * 2014): a few spikes barely move a median, so the bulk is fitted without knowing the spikes first. Spikes are
 * eigenvalues above λ+ plus the Tracy–Widom 99% margin (Johnstone 2001).
 */
public record MarchenkoPastur(int n, int m, double q, double sigma2, double lambdaPlus, double lambdaMinus,
                              double threshold, int numSpikes, double softRank, double spikeMass) {
    /** 99% quantile of the Tracy–Widom β = 1 law (Johnstone 2001, Table 1). */
    public static final double TW1_Q99 = 2.0234;

    /** @param sv all min(rows, cols) singular values (any order); {@code rows, cols} the matrix's shape */
    public static MarchenkoPastur fit(double[] sv, int rows, int cols) {
        int n = Math.max(rows, cols), m = Math.min(rows, cols);
        if (sv.length != m) throw new IllegalArgumentException("the MP fit needs all " + m + " singular values, got " + sv.length);
        double[] lam = new double[m];
        for (int i = 0; i < m; i++) lam[i] = sv[i] * sv[i];
        Arrays.sort(lam);
        double median = m % 2 == 1 ? lam[m / 2] : 0.5 * (lam[m / 2 - 1] + lam[m / 2]);
        double gamma = (double) m / n;
        double sigma2 = median / (n * median(gamma));
        double rn = Math.sqrt(n), rm = Math.sqrt(m);
        double plus = sigma2 * (rn + rm) * (rn + rm), minus = sigma2 * (rn - rm) * (rn - rm);
        double threshold = plus + TW1_Q99 * sigma2 * (rn + rm) * Math.cbrt(1 / rn + 1 / rm);
        int spikes = 0;
        double total = 0, spikeSum = 0;
        for (double l : lam) {
            total += l;
            if (l > threshold) {
                spikes++;
                spikeSum += l;
            }
        }
        double max = lam[m - 1];
        return new MarchenkoPastur(n, m, (double) n / m, sigma2, plus, minus, threshold, spikes,
                max > 0 ? plus / max : Double.NaN, total > 0 ? spikeSum / total : Double.NaN);
    }

    /** The spectrum table's columns, named with {@code prefix} ("mp_" or "rand_mp_"). */
    public Map<String, Object> columns(String prefix) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put(prefix + "Q", q);
        c.put(prefix + "sigma2", sigma2);
        c.put(prefix + "lambda_plus", lambdaPlus);
        c.put(prefix + "lambda_minus", lambdaMinus);
        c.put(prefix + "spike_threshold", threshold);
        c.put(prefix + "num_spikes", numSpikes);
        c.put(prefix + "softrank", softRank);
        c.put(prefix + "spike_mass", spikeMass);
        return c;
    }

    /**
     * The median of the MP law of ratio γ ∈ (0, 1] with σ² = 1 (eigenvalues of WᵀW/N). The CDF is integrated in
     * x = a + (b − a)(1 − cos t)/2, which removes the square-root edges (and the 1/√x pole at γ = 1), with Simpson's
     * rule; the median by bisection on t.
     */
    public static double median(double gamma) {
        if (!(gamma > 0 && gamma <= 1)) throw new IllegalArgumentException("gamma must be in (0, 1], got " + gamma);
        // 60 bisection steps of a 2,000-point integral: ~10 ms, while a model's matrices have a handful of shapes
        return MEDIANS.computeIfAbsent(gamma, MarchenkoPastur::computeMedian);
    }

    private static final java.util.Map<Double, Double> MEDIANS = new java.util.concurrent.ConcurrentHashMap<>();

    private static double computeMedian(double gamma) {
        double lo = 0, hi = Math.PI;
        for (int it = 0; it < 60; it++) {
            double mid = 0.5 * (lo + hi);
            if (cdfAtAngle(gamma, mid) < 0.5) lo = mid;
            else hi = mid;
        }
        return x(gamma, 0.5 * (lo + hi));
    }

    private static double x(double gamma, double t) {
        double a = (1 - Math.sqrt(gamma)) * (1 - Math.sqrt(gamma)), b = (1 + Math.sqrt(gamma)) * (1 + Math.sqrt(gamma));
        return a + (b - a) * (1 - Math.cos(t)) / 2;
    }

    /** ∫ from t = 0 to T of ρ(x(t)) x'(t) dt = ((b − a)/2)² sin²t / (2πγ x(t)). */
    static double cdfAtAngle(double gamma, double T) {
        double a = (1 - Math.sqrt(gamma)) * (1 - Math.sqrt(gamma)), b = (1 + Math.sqrt(gamma)) * (1 + Math.sqrt(gamma));
        double h2 = (b - a) / 2 * (b - a) / 2;
        int steps = 2000;
        double dt = T / steps, sum = 0;
        for (int i = 0; i <= steps; i++) {
            double t = i * dt, xt = a + (b - a) * (1 - Math.cos(t)) / 2, s = Math.sin(t);
            // at t = 0 with γ = 1, x = 0: sin²t/x(t) → 1, the integrand's limit is finite
            double f = xt > 0 ? h2 * s * s / (2 * Math.PI * gamma * xt) : h2 / (2 * Math.PI * gamma);
            sum += f * (i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2));
        }
        return sum * dt / 3;
    }
}
