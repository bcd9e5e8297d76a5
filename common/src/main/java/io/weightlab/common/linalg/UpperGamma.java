package io.weightlab.common.linalg;

import org.apache.commons.math3.special.Gamma;
import org.apache.commons.math3.util.ContinuedFraction;

/**
 * ln Γ(s, x), the upper incomplete gamma function, for any real order s and x > 0. The truncated power law's
 * normaliser needs it at s = 1 − α < 0, where Commons Math (like scipy's gammaincc) stops: its regularized Q
 * needs s > 0. So:
 * <ul>
 *   <li>x ≥ max(1.5, s + 1): the Legendre continued fraction (the one Commons Math uses for Q), valid for any s;</li>
 *   <li>s ≥ 1, smaller x: Commons Math's Γ(s)·Q(s, x);</li>
 *   <li>s &lt; 1, x &lt; 1.5: the series at a = s + k ∈ (−0.5, 0.5] (or s itself when s &gt; 0.5), written so that
 *       a → 0 stays exact (E₁ at a = 0), then k steps of Γ(b − 1, x) = (Γ(b, x) − x^{b−1}e^{−x})/(b − 1) down to s;
 *       starting within 0.5 of 0 keeps every divisor b − 1 at least 0.5 away from 0.</li>
 * </ul>
 * The last two work on R(b) = Γ(b, x)·x^{−b}e^{x}, which stays near 1/(x + 1 − b): no overflow at large −s.
 */
public final class UpperGamma {
    private static final double EULER = 0.57721566490153286061;
    private static final double EPS = 1e-16;

    private UpperGamma() {}

    /** ln Γ(s, x); NaN unless x > 0. */
    public static double log(double s, double x) {
        if (!(x > 0) || Double.isNaN(s)) return Double.NaN;
        double lnx = Math.log(x);
        if (x >= Math.max(1.5, s + 1)) return Math.log(scaledByFraction(s, x)) + s * lnx - x;
        if (s >= 1) return Gamma.logGamma(s) + Math.log(Gamma.regularizedGammaQ(s, x));
        int k = s < -0.5 ? (int) Math.ceil(-s - 0.5) : 0;
        double a = s + k;
        double r = seriesValue(a, x, lnx) * Math.exp(x - a * lnx); // R(a)
        for (double b = a; k > 0; k--, b--) r = (x * r - 1) / (b - 1);
        return Math.log(r) + s * lnx - x;
    }

    /** R(s) = Γ(s, x)·x^{−s}e^{x} = 1/(x + 1 − s − 1(1 − s)/(x + 3 − s − 2(2 − s)/(x + 5 − s − …))). */
    private static double scaledByFraction(double s, double x) {
        ContinuedFraction cf = new ContinuedFraction() {
            @Override
            protected double getA(int n, double z) {
                return 2.0 * n + 1.0 - s + z;
            }

            @Override
            protected double getB(int n, double z) {
                return n * (s - n);
            }
        };
        return 1.0 / cf.evaluate(x, EPS, 100_000);
    }

    /**
     * Γ(a, x) for a ∈ (−0.5, 1), x &lt; 1.5 (the continuation of Γ(a) − γ(a, x) for a ≤ 0): Γ(a) − γ(a, x) = (Γ(1 + a) − 1)/a − (x^a − 1)/a − x^a Σ_{k≥1} (−x)^k/(k!(a + k)),
     * the first two terms taken from 1/Γ(1 + a) − 1 and expm1 so that nothing cancels as a → 0.
     */
    private static double seriesValue(double a, double x, double lnx) {
        double head;
        if (a == 0) {
            head = -EULER - lnx;
        } else {
            double g = Gamma.invGamma1pm1(a); // 1/Γ(1 + a) − 1
            head = -g / (1 + g) / a - Math.expm1(a * lnx) / a;
        }
        double sum = 0, term = 1;
        for (int k = 1; k < 200; k++) {
            term *= -x / k;
            double t = term / (a + k);
            sum += t;
            if (Math.abs(t) < EPS * Math.abs(sum)) break;
        }
        return head - Math.exp(a * lnx) * sum;
    }
}
