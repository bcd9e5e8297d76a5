package io.weightlab.common.stats;

import org.apache.commons.math3.special.Gamma;

/**
 * Maximum-likelihood shape of a generalized Gaussian with fixed location, as a state machine so that each
 * step's sums can come from wherever the data is: {@link #beta()} says at which β the power sums
 * S0 = Σ|x|^β, S1 = Σ|x|^β ln|x|, S2 = Σ|x|^β ln²|x| (x centred) are needed next, {@link #accept} takes them.
 * Newton on g(β) = 1 + ψ(1/β)/β − S1/S0 + ln(βS0/N)/β (Do & Vetterli 2002), falling back to bisection of the
 * bracket when a step leaves it or g' ≥ 0 (docs/algorithms.md §2.2).
 */
public final class GgMleSolver implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MAX_STEPS = 100;
    private final long n;
    private double lo = GeneralizedGaussian.BETA_MIN, hi = GeneralizedGaussian.BETA_MAX;
    private double beta;
    private int steps;
    private boolean done;
    private double lnS0AtBeta = Double.NaN;
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
        return Math.exp((Math.log(beta) + lnS0AtBeta - Math.log(n)) / beta);
    }

    public void accept(double s0, double s1, double s2) {
        accept(s0, s1, s2, 0);
    }

    /** The sums at the current β as e^{lnScale} · s_j (see {@link LogPowerTable#powerSums}). */
    public void accept(double s0, double s1, double s2, double lnScale) {
        steps++;
        lnS0AtBeta = Math.log(s0) + lnScale;
        double b = beta;
        double r1 = s1 / s0, r2 = s2 / s0;
        double lnTerm = Math.log(b) + lnS0AtBeta - Math.log(n);
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

    /** Runs the solver to the end on a table of the data (no further pass over the values). */
    public static GgMleSolver solve(long n, double start, LogPowerTable table) {
        GgMleSolver mle = new GgMleSolver(n, start);
        while (!mle.done()) {
            double[] s = table.powerSums(mle.beta());
            mle.accept(s[0], s[1], s[2], s[3]);
        }
        return mle;
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
