package io.weightlab.common.fed;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The round report's cosine from three sums of squares (polarization identity) against the exact cosine computed in
 * 60-digit decimal arithmetic from the same double inputs, with the error bound docs/algorithms.md (§19) states:
 * δ(ρ + 1/ρ + 1) + 4ε, ρ = ‖u‖/‖m‖, δ the largest relative error of the three sums of squares (measured here against
 * their exact values), over norm ratios 1e-3..1e3, near-orthogonal, opposite and almost equal updates.
 */
class CosineToMeanTest {
    private static final MathContext MC = new MathContext(60);

    private static double sumSq(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return s;
    }

    /** Relative error of the double Σ (a − b)² against its exact value. */
    private static double relError(double got, double[] a, double[] b) {
        BigDecimal s = BigDecimal.ZERO;
        for (int i = 0; i < a.length; i++) {
            BigDecimal d = new BigDecimal(a[i]).subtract(new BigDecimal(b[i]));
            s = s.add(d.multiply(d));
        }
        return new BigDecimal(got).subtract(s).abs().divide(s, MC).doubleValue();
    }

    /** cos(x − r, y − r) exactly (to 60 digits) from the doubles x, y, r. */
    private static double exactCosine(double[] x, double[] y, double[] r) {
        BigDecimal dot = BigDecimal.ZERO, uu = BigDecimal.ZERO, mm = BigDecimal.ZERO;
        for (int i = 0; i < x.length; i++) {
            BigDecimal u = new BigDecimal(x[i]).subtract(new BigDecimal(r[i]));
            BigDecimal m = new BigDecimal(y[i]).subtract(new BigDecimal(r[i]));
            dot = dot.add(u.multiply(m));
            uu = uu.add(u.multiply(u));
            mm = mm.add(m.multiply(m));
        }
        return dot.divide(uu.multiply(mm).sqrt(MC), MC).doubleValue();
    }

    @Test
    void polarizationCosineIsWithinTheStatedBoundOfTheExactOne() {
        SplittableRandom rnd = new SplittableRandom(21);
        int n = 4096;
        double eps = Math.ulp(1.0);
        int cases = 0;
        for (double ratio : new double[] {1e-3, 0.1, 1, 10, 1e3}) {
            // mixing angle: opposite, near-orthogonal, generic, almost the same direction
            for (double mix : new double[] {-1, -1e-6, 0, 1e-6, 0.3, 0.9, 1 - 1e-9}) {
                double[] r = new double[n], y = new double[n], x = new double[n], noise = new double[n];
                double[] m = new double[n];
                for (int i = 0; i < n; i++) {
                    r[i] = rnd.nextGaussian() * 0.02;          // weights of an LLM-like tensor
                    m[i] = rnd.nextGaussian() * 1e-3;          // the mean update
                    noise[i] = rnd.nextGaussian() * 1e-3;
                }
                // orthogonalise the noise against m so that mix sets the angle
                double mn = 0, mmSq = 0;
                for (int i = 0; i < n; i++) { mn += m[i] * noise[i]; mmSq += m[i] * m[i]; }
                for (int i = 0; i < n; i++) noise[i] -= mn / mmSq * m[i];
                double s = Math.sqrt(1 - mix * mix);
                for (int i = 0; i < n; i++) {
                    y[i] = r[i] + m[i];
                    x[i] = r[i] + ratio * (mix * m[i] + s * noise[i]);
                }
                double uu = sumSq(x, r), mmm = sumSq(y, r), spread = sumSq(x, y);
                double got = TensorAggregation.Diagnostics.cosineToMean(uu, mmm, spread);
                double exact = exactCosine(x, y, r);
                double rho = Math.sqrt(uu / mmm);
                double delta = Math.max(relError(uu, x, r), Math.max(relError(mmm, y, r), relError(spread, x, y)));
                double bound = delta * (rho + 1 / rho + 1) + 4 * eps;
                assertTrue(delta < 1e-13, "sums of 4096 squares are this accurate: " + delta);
                assertTrue(Math.abs(got - exact) <= bound,
                        "ratio " + ratio + ", mix " + mix + ": polarization " + got + " vs exact " + exact + ", bound " + bound);
                if (Math.abs(mix) == 1) assertEquals(mix, exact, 1e-6, "the construction sets the angle");
                cases++;
            }
        }
        assertEquals(35, cases);
    }

    @Test
    void aZeroNormHasNoCosine() {
        assertTrue(Double.isNaN(TensorAggregation.Diagnostics.cosineToMean(0, 1, 1)));
        assertTrue(Double.isNaN(TensorAggregation.Diagnostics.cosineToMean(1, 0, 1)));
        assertEquals(1.0, TensorAggregation.Diagnostics.cosineToMean(4, 4, 0), 0.0, "u = m");
        assertEquals(-1.0, TensorAggregation.Diagnostics.cosineToMean(1, 1, 4), 0.0, "u = −m");
    }
}
