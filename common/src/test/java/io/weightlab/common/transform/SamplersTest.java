package io.weightlab.common.transform;

import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.MomentAccumulator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The distributions re-initialisation draws from: requested std within sampling error (docs/algorithms.md §2.3: the
 * sample variance within 3·√(2/N) for a Gaussian; for other shapes the bound uses their kurtosis), shape recovered
 * by an independent estimator, and draws that do not depend on how a tensor is sliced.
 */
class SamplersTest {
    static final int N = 1 << 20;

    static double[] draw(Sampler s, String tensor) {
        double[] v = new double[N];
        new DrawnAction(7, tensor, s).apply(0, v, N);
        return v;
    }

    static MomentAccumulator moments(double[] v) {
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(v, 0, v.length);
        return m;
    }

    /** |std/target − 1| within 4 standard errors: sd(s²)/σ² = √((κ−1)/N), and std's relative error is half that. */
    static void assertStd(double target, double[] v, double kurtosis) {
        MomentAccumulator m = moments(v);
        double tol = 4 * 0.5 * Math.sqrt((kurtosis - 1) / N);
        assertEquals(1.0, m.stdSample() / target, tol, "std");
        assertEquals(0.0, m.mean() / target, 4 / Math.sqrt(N), "mean");
    }

    @Test
    void normalUniformAndTruncatedNormalHaveTheRequestedStd() {
        assertStd(0.02, draw(Samplers.normal(0.02), "a"), 3.0);
        assertStd(0.02, draw(Samplers.uniform(0.02), "b"), 1.8);
        double[] t = draw(Samplers.truncatedNormal(0.02, 2.0), "c");
        // kurtosis of a standard normal truncated at ±2 is about 2.36; a bound of 3 keeps the test honest but not tight
        assertStd(0.02, t, 3.0);
        double s = 0.02 / Math.sqrt(1 - 2 * 2 * Math.exp(-2) / Math.sqrt(2 * Math.PI) / 0.9544997361036416);
        double max = Arrays.stream(t).map(Math::abs).max().orElseThrow();
        assertTrue(max <= 2 * s && max > 1.99 * s, "truncation at 2 s = " + 2 * s + ", max |x| " + max);
    }

    @Test
    void generalizedGaussianHitsStdAndItsShapeIsRecovered() {
        for (double beta : new double[] {1.0, 1.5, 2.0}) {
            double[] v = draw(Samplers.generalizedGaussian(0.02, beta), "gg" + beta);
            double kurt = Math.exp(org.apache.commons.math3.special.Gamma.logGamma(5 / beta) + org.apache.commons.math3.special.Gamma.logGamma(1 / beta)
                    - 2 * org.apache.commons.math3.special.Gamma.logGamma(3 / beta));
            assertStd(0.02, v, kurt);
            MomentAccumulator m = moments(v);
            double betaHat = GeneralizedGaussian.betaFromAbsDeviation(m.variancePopulation(), m.l1() / m.count());
            assertEquals(beta, betaHat, 0.03 * beta, "moment estimate of beta");
        }
    }

    @Test
    void valuesDoNotDependOnHowTheTensorIsSliced() {
        for (Sampler s : new Sampler[] {Samplers.normal(1), Samplers.generalizedGaussian(1, 0.7), Samplers.truncatedNormal(1, 1.5)}) {
            int n = 3 * TensorRandom.BLOCK + 1234;
            double[] whole = new double[n];
            new DrawnAction(42, "layers.3.w", s).apply(0, whole, n);
            double[] pieces = new double[n];
            SplittableRandom cut = new SplittableRandom(5);
            for (int first = 0; first < n; ) {
                int len = Math.min(n - first, 1 + cut.nextInt(100_000));
                double[] part = new double[len];
                new DrawnAction(42, "layers.3.w", s).apply(first, part, len);
                System.arraycopy(part, 0, pieces, first, len);
                first += len;
            }
            assertArrayEquals(whole, pieces, 0.0, s.describe());
            double[] other = new double[n];
            new DrawnAction(42, "layers.4.w", s).apply(0, other, n);
            assertTrue(!Arrays.equals(whole, other), "another tensor name gives another stream");
        }
    }

    @Test
    void scaleFormulaMatchesTheVarianceIdentity() {
        // Var = α²Γ(3/β)/Γ(1/β) with α from ggScale must give back std² (closed form, docs/algorithms.md §2).
        for (double beta : new double[] {0.5, 1, 2, 7}) {
            double a = Samplers.ggScale(0.3, beta);
            double var = a * a * Math.exp(org.apache.commons.math3.special.Gamma.logGamma(3 / beta) - org.apache.commons.math3.special.Gamma.logGamma(1 / beta));
            assertEquals(0.09, var, 1e-14);
        }
        assertEquals(0.3 * Math.sqrt(2), Samplers.ggScale(0.3, 2), 1e-15, "beta=2: alpha = sqrt(2) sigma");
    }
}
