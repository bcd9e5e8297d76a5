package io.weightlab.common.stats;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A generalized-Gaussian fit of one tensor (location fixed at the mean): shape by the moment method (mean
 * absolute deviation and kurtosis forms) and by maximum likelihood on all values, the log-likelihood and the
 * KS distance of the fitted GG, and of the best Gaussian and Laplace for comparison.
 * {@code status} says why a field is empty (constant or tiny tensor, no root in the bracket).
 */
public record GgFit(String status, double mu, double betaMoment, double alphaMoment, double betaKurtosis,
                    double beta, double alpha, int mleSteps, double logLikelihood, double ks,
                    double gaussianLogLikelihood, double gaussianKs, double laplaceLogLikelihood, double laplaceKs,
                    String best, long beyond10Sigma, boolean ksOnBuckets) implements Serializable {

    /** Fewer finite values than this and no fit is attempted. */
    public static final long MIN_VALUES = 16;

    public static GgFit notFitted(String why) {
        return new GgFit(why, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0,
                Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, null, 0, false);
    }

    /** Why no fit is possible from the moments alone, or null when one is. */
    public static String precheck(MomentAccumulator m) {
        if (m.count() < MIN_VALUES) return "too few values (" + m.count() + " < " + MIN_VALUES + ")";
        if (!(m.variancePopulation() > 0)) return "constant tensor";
        return null;
    }

    /**
     * Everything computable without the data once the MLE has converged: the moment estimates, likelihoods and
     * KS distances (over the histogram {@code values}/{@code counts}, exact or bucketed).
     */
    public static GgFit assemble(MomentAccumulator m, double meanAbsDev, GgMleSolver mle, double[] values, long[] counts,
                                 boolean buckets) {
        double mu = m.mean(), var = m.variancePopulation(), sd = Math.sqrt(var);
        double bMom = GeneralizedGaussian.betaFromAbsDeviation(var, meanAbsDev);
        double aMom = Double.isNaN(bMom) ? Double.NaN : GeneralizedGaussian.scaleFromVariance(bMom, var);
        double bKurt = GeneralizedGaussian.betaFromKurtosis(m.excessKurtosis());
        double beta = mle.beta(), alpha = mle.alpha();
        double ll = GeneralizedGaussian.meanLogLikelihood(beta, alpha);
        double gll = -0.5 * Math.log(2 * Math.PI * var) - 0.5;
        double lll = -Math.log(2 * meanAbsDev) - 1;
        double ks = ks(values, counts, x -> GeneralizedGaussian.cdf(x, mu, alpha, beta));
        double gks = ks(values, counts, x -> GeneralizedGaussian.gaussianCdf(x, mu, sd));
        double lks = ks(values, counts, x -> GeneralizedGaussian.laplaceCdf(x, mu, meanAbsDev));
        String best = ks <= gks && ks <= lks ? "generalized_gaussian" : gks <= lks ? "gaussian" : "laplace";
        long beyond = 0;
        for (int i = 0; i < values.length; i++) {
            if (counts[i] != 0 && Double.isFinite(values[i]) && Math.abs(values[i] - mu) > 10 * sd) beyond += counts[i];
        }
        return new GgFit(mle.status(), mu, bMom, aMom, bKurt, beta, alpha, mle.steps(), ll, ks, gll, gks, lll, lks,
                best, beyond, buckets);
    }

    /** Moment estimates only (no MLE): the cheap fit, one pass for the mean absolute deviation. */
    public static GgFit momentsOnly(MomentAccumulator m, double meanAbsDev, double[] values, long[] counts) {
        double mu = m.mean(), var = m.variancePopulation();
        double bMom = GeneralizedGaussian.betaFromAbsDeviation(var, meanAbsDev);
        double aMom = Double.isNaN(bMom) ? Double.NaN : GeneralizedGaussian.scaleFromVariance(bMom, var);
        double bKurt = GeneralizedGaussian.betaFromKurtosis(m.excessKurtosis());
        return new GgFit("moments only", mu, bMom, aMom, bKurt, Double.NaN, Double.NaN, 0, Double.NaN, Double.NaN,
                Double.NaN, Double.NaN, Double.NaN, Double.NaN, null, 0, false);
    }

    /** KS distance between a histogram's empirical CDF and a continuous CDF, at every distinct value. */
    static double ks(double[] values, long[] counts, java.util.function.DoubleUnaryOperator cdf) {
        boolean sorted = true;
        for (int i = 1; i < values.length && sorted; i++) sorted = values[i - 1] <= values[i];
        int[] order;
        if (sorted) {
            order = java.util.stream.IntStream.range(0, values.length).filter(i -> counts[i] > 0 && Double.isFinite(values[i])).toArray();
        } else {
            Integer[] boxed = java.util.stream.IntStream.range(0, values.length)
                    .filter(i -> counts[i] > 0 && Double.isFinite(values[i])).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(boxed, (a, b) -> Double.compare(values[a], values[b]));
            order = java.util.Arrays.stream(boxed).mapToInt(Integer::intValue).toArray();
        }
        long n = 0;
        for (int i : order) n += counts[i];
        double d = 0;
        long cum = 0;
        for (int i : order) {
            double f = cdf.applyAsDouble(values[i]);
            double before = (double) cum / n;
            cum += counts[i];
            double after = (double) cum / n;
            d = Math.max(d, Math.max(Math.abs(f - before), Math.abs(after - f)));
        }
        return d;
    }

    /** Fits all values of an array (sorted and counted first), for local data and tests. */
    public static GgFit fromValues(double[] x) {
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(x, 0, x.length);
        double[] s = x.clone();
        java.util.Arrays.sort(s);
        int k = 0;
        long[] c = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            if (k > 0 && s[i] == s[k - 1]) c[k - 1]++;
            else {
                s[k] = s[i];
                c[k++] = 1;
            }
        }
        return fromHistogram(m, java.util.Arrays.copyOf(s, k), java.util.Arrays.copyOf(c, k), false);
    }

    /** Fits from an exact histogram (values with counts): every sum the MLE needs comes from the bins. */
    public static GgFit fromHistogram(MomentAccumulator m, double[] values, long[] counts, boolean buckets) {
        String why = precheck(m);
        if (why != null) return notFitted(why);
        double mu = m.mean();
        double absSum = 0;
        for (int i = 0; i < values.length; i++) {
            if (counts[i] != 0 && Double.isFinite(values[i])) absSum += counts[i] * Math.abs(values[i] - mu);
        }
        double m1 = absSum / m.count();
        GgMleSolver mle = new GgMleSolver(m.count(), GeneralizedGaussian.betaFromAbsDeviation(m.variancePopulation(), m1));
        while (!mle.done()) {
            double[] s = GgMleSolver.powerSums(values, counts, mu, mle.beta());
            mle.accept(s[0], s[1], s[2]);
        }
        return assemble(m, m1, mle, values, counts, buckets);
    }

    /** Reads the gg_* columns of a stats row back. */
    public static GgFit fromMap(Map<String, Object> m) {
        if (m.get("gg_status") == null) return null;
        return new GgFit(String.valueOf(m.get("gg_status")), StatsRow.d(m.get("gg_mu")), StatsRow.d(m.get("gg_beta_moment")),
                StatsRow.d(m.get("gg_alpha_moment")), StatsRow.d(m.get("gg_beta_kurtosis")), StatsRow.d(m.get("gg_beta")),
                StatsRow.d(m.get("gg_alpha")), (int) StatsRow.l(m.get("gg_mle_steps")), StatsRow.d(m.get("gg_loglik")), StatsRow.d(m.get("gg_ks")),
                StatsRow.d(m.get("gaussian_loglik")), StatsRow.d(m.get("gaussian_ks")), StatsRow.d(m.get("laplace_loglik")),
                StatsRow.d(m.get("laplace_ks")), StatsRow.str(m.get("best_fit")), StatsRow.l(m.get("beyond_10_sigma")),
                Boolean.TRUE.equals(m.get("ks_on_buckets")));
    }

    /** Column name to value for the stats tables. */
    public Map<String, Object> toMap() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("gg_status", status);
        o.put("gg_mu", mu);
        o.put("gg_beta_moment", betaMoment);
        o.put("gg_alpha_moment", alphaMoment);
        o.put("gg_beta_kurtosis", betaKurtosis);
        o.put("gg_beta", beta);
        o.put("gg_alpha", alpha);
        o.put("gg_mle_steps", mleSteps);
        o.put("gg_loglik", logLikelihood);
        o.put("gg_ks", ks);
        o.put("gaussian_loglik", gaussianLogLikelihood);
        o.put("gaussian_ks", gaussianKs);
        o.put("laplace_loglik", laplaceLogLikelihood);
        o.put("laplace_ks", laplaceKs);
        o.put("best_fit", best);
        o.put("beyond_10_sigma", beyond10Sigma);
        o.put("ks_on_buckets", ksOnBuckets);
        return o;
    }
}
