package io.weightlab.common.transform;

import org.apache.commons.math3.distribution.GammaDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.special.Gamma;

import java.util.Locale;

/**
 * The distributions re-initialisation draws from, each parameterised by the standard deviation it must have
 * (the std rule decides that number; the sampler turns it into the distribution's own parameters).
 */
public final class Samplers {
    private Samplers() {}

    public static Sampler normal(double std) {
        return new Sampler() {
            public double draw(RandomGenerator rng) { return std * rng.nextGaussian(); }
            public String describe() { return fmt("normal(std=%s)", std); }
        };
    }

    /** Uniform on [-b, b] with b = std·√3. */
    public static Sampler uniform(double std) {
        double b = std * Math.sqrt(3.0);
        return new Sampler() {
            public double draw(RandomGenerator rng) { return b * (2.0 * rng.nextDouble() - 1.0); }
            public String describe() { return fmt("uniform(-%s, %s)", b, b); }
        };
    }

    /**
     * Normal truncated to ±k·s by rejection, with s chosen so the truncated distribution has the requested std:
     * the variance of a standard normal truncated to [-k, k] is 1 − 2kφ(k)/(2Φ(k) − 1).
     */
    public static Sampler truncatedNormal(double std, double k) {
        NormalDistribution z = new NormalDistribution(null, 0, 1);
        double mass = 2 * z.cumulativeProbability(k) - 1;
        double varUnit = 1 - 2 * k * z.density(k) / mass;
        double s = std / Math.sqrt(varUnit);
        return new Sampler() {
            public double draw(RandomGenerator rng) {
                while (true) {
                    double g = rng.nextGaussian();
                    if (Math.abs(g) <= k) return s * g;
                }
            }
            public String describe() { return fmt("truncated_normal(s=%s, bounds=±%s·s)", s, k); }
        };
    }

    /**
     * Generalized Gaussian with shape β and the scale α = std·√(Γ(1/β)/Γ(3/β)) that gives the requested std:
     * X = α·S·G^{1/β}, G ~ Gamma(1/β, 1), S = ±1 (docs/algorithms.md §2.3; Commons Math samples the gamma).
     */
    public static Sampler generalizedGaussian(double std, double beta) {
        double alpha = ggScale(std, beta);
        return new Sampler() {
            public double draw(RandomGenerator rng) {
                double[] one = new double[1];
                fill(rng, one, 0, 1);
                return one[0];
            }
            @Override
            public void fill(RandomGenerator rng, double[] out, int from, int count) {
                GammaDistribution gamma = new GammaDistribution(rng, 1.0 / beta, 1.0);
                for (int i = 0; i < count; i++) {
                    double x = alpha * Math.pow(gamma.sample(), 1.0 / beta);
                    out[from + i] = rng.nextBoolean() ? x : -x;
                }
            }
            public String describe() { return fmt("generalized_gaussian(beta=%s, alpha=%s)", beta, alpha); }
        };
    }

    /** α with Var = α²Γ(3/β)/Γ(1/β) = std². */
    public static double ggScale(double std, double beta) {
        return std * Math.exp(0.5 * (Gamma.logGamma(1.0 / beta) - Gamma.logGamma(3.0 / beta)));
    }

    /** Locale-independent formatting for descriptions. */
    public static String fmt(String f, Object... args) {
        return String.format(Locale.ROOT, f, args);
    }
}
