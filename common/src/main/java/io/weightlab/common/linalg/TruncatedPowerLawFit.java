package io.weightlab.common.linalg;

import org.apache.commons.math3.analysis.MultivariateFunction;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.NelderMeadSimplex;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.SimplexOptimizer;

import java.util.Arrays;

/**
 * The truncated power law of the {@code powerlaw} package as WeightWatcher runs it for {@code fit='TPL'}
 * (docs/algorithms.md §7.6): p(x) = C x^{−α} e^{−Λx} on x ≥ x_min, C = Λ^{1−α}/Γ(1 − α, Λx_min). For each candidate
 * x_min the maximum-likelihood (α, Λ) on the tail, its KS distance D = max_j |F(x_{i+j}) − j/m| with
 * F(x) = 1 − Γ(1 − α, Λx)/Γ(1 − α, Λx_min); the chosen x_min has the smallest D among the fits in range (α > 1, Λ > 0),
 * or among all when none is. Candidates are powerlaw's: the distinct values in [lo, hi] except the largest of them.
 *
 * <p>powerlaw stops Nelder–Mead at its default tolerance (1e-4); we run it to convergence, so parameters agree with
 * powerlaw to about that and with the true maximum to ~1e-7.
 */
public record TruncatedPowerLawFit(double alpha, double lambda, double xmin, double d, int numSpikes, boolean inRange) {

    public static TruncatedPowerLawFit failed() {
        return new TruncatedPowerLawFit(-1, Double.NaN, Double.NaN, Double.NaN, 0, false);
    }

    /** All candidates (powerlaw's rule without a range). */
    public static TruncatedPowerLawFit fit(double[] eigenvalues) {
        return fit(eigenvalues, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
    }

    /** @param eigenvalues any order; λ ≤ 1e-5 dropped as in the PL fit. @param lo @param hi x_min search range */
    public static TruncatedPowerLawFit fit(double[] eigenvalues, double lo, double hi) {
        double[] x = Arrays.stream(eigenvalues).filter(v -> v > PowerLawFit.MIN_EIGENVALUE).sorted().toArray();
        int n = x.length;
        int[] cand = PowerLawFit.rangeCandidates(x, lo, hi);
        if (cand.length == 0) return failed();
        double[] sufLog = new double[n + 1], sufX = new double[n + 1];
        for (int i = n - 1; i >= 0; i--) {
            sufLog[i] = sufLog[i + 1] + Math.log(x[i]);
            sufX[i] = sufX[i + 1] + x[i];
        }
        TruncatedPowerLawFit bestIn = null, bestOut = null;
        for (int i : cand) {
            double[] p = mle(x[i], n - i, sufLog[i], sufX[i]);
            boolean in = p[0] > 1 && p[1] > 0;
            TruncatedPowerLawFit best = in ? bestIn : bestOut;
            double d = ks(x, i, p[0], p[1], best == null ? Double.POSITIVE_INFINITY : best.d);
            if (best == null || d < best.d) {
                TruncatedPowerLawFit f = new TruncatedPowerLawFit(p[0], p[1], x[i], d, n - i, in);
                if (in) bestIn = f;
                else bestOut = f;
            }
        }
        return bestIn != null ? bestIn : bestOut;
    }

    /** The fit at one x_min: the MLE on x ≥ xmin and its D. */
    public static TruncatedPowerLawFit atXmin(double[] eigenvalues, double xmin) {
        double[] x = Arrays.stream(eigenvalues).filter(v -> v >= xmin && v > PowerLawFit.MIN_EIGENVALUE).sorted().toArray();
        if (x.length < 2) return failed();
        double sl = 0, sx = 0;
        for (double v : x) {
            sl += Math.log(v);
            sx += v;
        }
        double[] p = mle(x[0], x.length, sl, sx);
        return new TruncatedPowerLawFit(p[0], p[1], x[0], ks(x, 0, p[0], p[1], Double.POSITIVE_INFINITY), x.length, p[0] > 1 && p[1] > 0);
    }

    /**
     * Mean negative log-likelihood of m tail values with Σ ln x = sumLog, Σ x = sumX:
     * α·sumLog/m + Λ·sumX/m − (1 − α) ln Λ + ln Γ(1 − α, Λ x_min). Infinite where Γ is not finite.
     */
    static double meanNegLogLikelihood(double alpha, double lambda, double xmin, int m, double sumLog, double sumX) {
        double lg = UpperGamma.log(1 - alpha, lambda * xmin);
        double v = alpha * sumLog / m + lambda * sumX / m - (1 - alpha) * Math.log(lambda) + lg;
        return Double.isFinite(v) ? v : Double.POSITIVE_INFINITY;
    }

    /**
     * (α, Λ) maximising the likelihood, from powerlaw's start α₀ = 1 + m/Σ ln(x/x_min), Λ₀ = 1/mean(x); Nelder–Mead
     * on (α, ln Λ) (keeps Λ > 0), restarted from its own answer until it stops moving (one run can stall on a ridge).
     */
    static double[] mle(double xmin, int m, double sumLog, double sumX) {
        double a0 = 1 + m / (sumLog - m * Math.log(xmin));
        double[] start = {Double.isFinite(a0) ? a0 : 2, Math.log(m / sumX)};
        MultivariateFunction f = p -> meanNegLogLikelihood(p[0], Math.exp(p[1]), xmin, m, sumLog, sumX);
        SimplexOptimizer opt = new SimplexOptimizer(1e-15, 1e-15);
        double prev = Double.POSITIVE_INFINITY;
        PointValuePair best = new PointValuePair(start, f.value(start));
        for (int run = 0; run < 8; run++) {
            PointValuePair r;
            try {
                r = opt.optimize(new MaxEval(20_000), new ObjectiveFunction(f), GoalType.MINIMIZE,
                        new InitialGuess(best.getPoint()), new NelderMeadSimplex(new double[] {0.1, 0.1}));
            } catch (org.apache.commons.math3.exception.TooManyEvaluationsException e) {
                break;
            }
            if (r.getValue() <= best.getValue()) best = r;
            if (!(prev - best.getValue() > 1e-15 * Math.abs(best.getValue()))) break;
            prev = best.getValue();
        }
        return new double[] {best.getPoint()[0], Math.exp(best.getPoint()[1])};
    }

    /** D over the tail from index i, stopping once it reaches {@code stopAt} (that candidate cannot win). */
    static double ks(double[] x, int i, double alpha, double lambda, double stopAt) {
        int m = x.length - i;
        double s = 1 - alpha, g0 = UpperGamma.log(s, lambda * x[i]);
        if (!Double.isFinite(g0)) return 1;
        double d = 0;
        for (int j = 0; j < m; j++) {
            double cdf = -Math.expm1(UpperGamma.log(s, lambda * x[i + j]) - g0);
            double diff = Math.abs(cdf - (double) j / m);
            if (!(diff <= d)) {
                d = Double.isNaN(diff) ? 1 : diff;
                if (d >= stopAt) break;
            }
        }
        return d;
    }
}
