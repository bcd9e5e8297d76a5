package io.weightlab.common.stats;

import org.apache.commons.math3.analysis.solvers.BrentSolver;
import org.apache.commons.math3.special.Erf;
import org.apache.commons.math3.special.Gamma;

/**
 * The generalized Gaussian f(x) = β / (2αΓ(1/β)) exp(-(|x-μ|/α)^β) (docs/algorithms.md §2): moment estimators,
 * the profile likelihood, and CDFs of it and of its two special cases used for comparison. Special functions
 * and the root finder are Apache Commons Math's.
 */
public final class GeneralizedGaussian {
    /** Bracket of the shape β, as the fixtures' reference uses it. */
    public static final double BETA_MIN = 0.02, BETA_MAX = 50;

    private GeneralizedGaussian() {}

    /** r(β) = Γ(1/β)Γ(3/β)/Γ(2/β)² = E[x²]/E|x|² ; strictly decreasing from ∞ to 4/3. */
    public static double absRatio(double beta) {
        return Math.exp(Gamma.logGamma(1 / beta) + Gamma.logGamma(3 / beta) - 2 * Gamma.logGamma(2 / beta));
    }

    /** Excess kurtosis Γ(5/β)Γ(1/β)/Γ(3/β)² − 3; strictly decreasing in β. */
    public static double excessKurtosis(double beta) {
        return Math.exp(Gamma.logGamma(5 / beta) + Gamma.logGamma(1 / beta) - 2 * Gamma.logGamma(3 / beta)) - 3;
    }

    /** Shape from m2/m1² (variance over squared mean absolute deviation), or NaN when no β in the bracket fits. */
    public static double betaFromAbsDeviation(double variance, double meanAbsDev) {
        if (!(variance > 0) || !(meanAbsDev > 0)) return Double.NaN;
        double target = variance / (meanAbsDev * meanAbsDev);
        return solveLogBeta(b -> Math.log(absRatio(b)) - Math.log(target));
    }

    /** Shape from the excess kurtosis, or NaN when no β in the bracket fits. */
    public static double betaFromKurtosis(double kurtosisExcess) {
        if (!Double.isFinite(kurtosisExcess)) return Double.NaN;
        return solveLogBeta(b -> Math.log(excessKurtosis(b) + 3) - Math.log(kurtosisExcess + 3));
    }

    private static double solveLogBeta(java.util.function.DoubleUnaryOperator f) {
        double lo = Math.log(BETA_MIN), hi = Math.log(BETA_MAX);
        double flo = f.applyAsDouble(BETA_MIN), fhi = f.applyAsDouble(BETA_MAX);
        if (!(flo * fhi <= 0)) return Double.NaN;
        double t = new BrentSolver(1e-14, 1e-14).solve(200, u -> f.applyAsDouble(Math.exp(u)), lo, hi);
        return Math.exp(t);
    }

    /** Scale α for a given shape and variance: α = sqrt(var Γ(1/β)/Γ(3/β)). */
    public static double scaleFromVariance(double beta, double variance) {
        return Math.sqrt(variance * Math.exp(Gamma.logGamma(1 / beta) - Gamma.logGamma(3 / beta)));
    }

    /** Mean log-likelihood per value at the profile-MLE scale α̂(β) = (β S0/N)^{1/β}: ln β − ln 2α − lnΓ(1/β) − 1/β. */
    public static double meanLogLikelihood(double beta, double alpha) {
        return Math.log(beta) - Math.log(2 * alpha) - Gamma.logGamma(1 / beta) - 1 / beta;
    }

    public static double cdf(double x, double mu, double alpha, double beta) {
        double z = Math.abs(x - mu) / alpha;
        double p = 0.5 * Gamma.regularizedGammaP(1 / beta, Math.pow(z, beta));
        return x >= mu ? 0.5 + p : 0.5 - p;
    }

    public static double gaussianCdf(double x, double mu, double sigma) {
        return 0.5 * Erf.erfc(-(x - mu) / (sigma * Math.sqrt(2)));
    }

    public static double laplaceCdf(double x, double mu, double b) {
        double z = (x - mu) / b;
        return z < 0 ? 0.5 * Math.exp(z) : 1 - 0.5 * Math.exp(-z);
    }
}
