package io.weightlab.common.stats;

import org.apache.commons.math3.special.Gamma;

/**
 * Maximum-likelihood shape of a generalized Gaussian with fixed location, as a state machine so that each
 * step's sums can come from wherever the data is: {@link #beta()} says at which β the power sums
 * S0 = Σ|x|^β, S1 = Σ|x|^β ln|x|, S2 = Σ|x|^β ln²|x| (x centred) are needed next, {@link #accept} takes them.
 * Newton on g(β) = 1 + ψ(1/β)/β − S1/S0 + ln(βS0/N)/β (Do & Vetterli 2002), falling back to bisection of the
 * bracket when a step leaves it or g' ≥ 0 (algorithms.md §2.2).
 */
public final class GgMleSolver {
    private static final int MAX_STEPS = 100;
    private final long n;
    private double lo = GeneralizedGaussian.BETA_MIN, hi = GeneralizedGaussian.BETA_MAX;
    private double beta;
    private int steps;
    private boolean done;
    private double s0AtBeta = Double.NaN;
    private String status = "running";

    public GgMleSolver(long n, double start) {
        this.n = n;
        this.beta = Double.isFinite(start) ? Math.min(Math.max(start, lo * 1.01), hi * 0.99) : 2.0;
    }

    public double beta() { return beta; }

    public boolean done() { return done; }

    public int steps() { return steps; }

    public String status() { return status; }

    /** α̂ at the current β, from the last S0. */
    public double alpha() {
        return Math.pow(beta * s0AtBeta / n, 1 / beta);
    }

    public void accept(double s0, double s1, double s2) {
        steps++;
        s0AtBeta = s0;
        double b = beta;
        double r1 = s1 / s0, r2 = s2 / s0;
        double lnTerm = Math.log(b * s0 / n);
        double g = 1 + Gamma.digamma(1 / b) / b - r1 + lnTerm / b;
        double dg = -Gamma.trigamma(1 / b) / (b * b * b) - Gamma.digamma(1 / b) / (b * b) - (r2 - r1 * r1)
                + 1 / (b * b) + r1 / b - lnTerm / (b * b);
        // g decreases through the root: g > 0 means β is too small.
        if (g > 0) lo = b;
        else hi = b;
        double next = b - g / dg;
        if (!(dg < 0) || !(next > lo && next < hi)) next = Math.sqrt(lo * hi);
        if (Math.abs(next - b) <= 1e-12 * b || Math.abs(g) < 1e-14 || hi / lo < 1 + 1e-13) {
            done = true;
            status = "converged";
            return;
        }
        if (steps >= MAX_STEPS) {
            done = true;
            status = "not converged after " + MAX_STEPS + " steps";
            return;
        }
        if (next <= GeneralizedGaussian.BETA_MIN * 1.0001 || next >= GeneralizedGaussian.BETA_MAX * 0.9999) {
            done = true;
            status = "at the bracket bound";
        }
        beta = next;
    }

    /** S0, S1, S2 of centred values at β, over an array (for local data and tests). */
    public static double[] powerSums(double[] x, int from, int len, double mu, double beta) {
        double s0 = 0, s1 = 0, s2 = 0;
        for (int i = from; i < from + len; i++) {
            double a = Math.abs(x[i] - mu);
            if (a == 0 || !Double.isFinite(a)) continue;
            double l = Math.log(a);
            double p = Math.exp(beta * l);
            s0 += p;
            s1 += p * l;
            s2 += p * l * l;
        }
        return new double[] {s0, s1, s2};
    }

    /**
     * ln|x − μ| of the finite, non-zero centred values (zeros add nothing to any power sum at β > 0): the MLE's
     * steps then need one exp per value instead of a log and an exp, since ln|x − μ| does not depend on β.
     */
    public static double[] logAbs(double[] x, double mu) {
        double[] l = new double[x.length];
        int n = 0;
        for (double v : x) {
            double a = Math.abs(v - mu);
            if (a != 0 && Double.isFinite(a)) l[n++] = Math.log(a);
        }
        return n == l.length ? l : java.util.Arrays.copyOf(l, n);
    }

    /** S0, S1, S2 from the logs of {@link #logAbs}: the same sums as {@link #powerSums(double[], int, int, double, double)}. */
    public static double[] powerSumsOfLogs(double[] logs, double beta) {
        double s0 = 0, s1 = 0, s2 = 0;
        for (double l : logs) {
            double p = Math.exp(beta * l);
            s0 += p;
            s1 += p * l;
            s2 += p * l * l;
        }
        return new double[] {s0, s1, s2};
    }

    /** Σ|x − μ| from the logs of {@link #logAbs}. */
    public static double absSumOfLogs(double[] logs) {
        double s = 0;
        for (double l : logs) s += Math.exp(l);
        return s;
    }

    /** The same over a histogram of distinct values. */
    public static double[] powerSums(double[] values, long[] counts, double mu, double beta) {
        double s0 = 0, s1 = 0, s2 = 0;
        for (int i = 0; i < values.length; i++) {
            long c = counts[i];
            if (c == 0) continue;
            double a = Math.abs(values[i] - mu);
            if (a == 0 || !Double.isFinite(a)) continue;
            double l = Math.log(a);
            double p = c * Math.exp(beta * l);
            s0 += p;
            s1 += p * l;
            s2 += p * l * l;
        }
        return new double[] {s0, s1, s2};
    }
}
