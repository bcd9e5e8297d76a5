package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import org.apache.commons.math3.special.Erf;

import java.util.ArrayList;
import java.util.List;

/**
 * Rényi-DP accountant of the (sampled) Gaussian mechanism, as Opacus's {@code accountants/analysis/rdp.py} (a port of
 * TF Privacy's): per order α the RDP of one step with sampling rate q and noise multiplier σ (Mironov, Talwar and
 * Zhang 2019: integer α by the binomial sum, fractional α by the two-sided erfc series), composed by adding over
 * steps and segments, and converted to (ε, δ) by Balle et al. 2020, Thm 21, minimised over the orders.
 * docs/algorithms.md ("Differential privacy") has the formulas.
 */
public final class RdpAccountant {
    /** Opacus's RDPAccountant.DEFAULT_ALPHAS: 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63. */
    public static final double[] DEFAULT_ORDERS = defaultOrders();

    /** q steps of the Gaussian mechanism with noise multiplier sigma, each on a q-sampled set of clients. */
    public record Segment(double q, double sigma, long steps) {
        public Segment {
            if (!(q >= 0 && q <= 1)) throw new UsageException("sampling rate q must be in [0, 1], got " + q);
            if (!(sigma >= 0)) throw new UsageException("noise multiplier must be >= 0, got " + sigma);
            if (steps < 0) throw new UsageException("steps must be >= 0, got " + steps);
        }
    }

    /** The best ε for δ and the order that attains it. */
    public record Spent(double epsilon, double order) {}

    private RdpAccountant() {}

    /** RDP of one step at order alpha (> 1). */
    public static double rdp(double q, double sigma, double alpha) {
        if (q == 0) return 0;
        if (sigma == 0) return Double.POSITIVE_INFINITY;
        if (q == 1) return alpha / (2 * sigma * sigma);
        if (Double.isInfinite(alpha)) return Double.POSITIVE_INFINITY;
        double logA = alpha == Math.rint(alpha) ? logAInt(q, sigma, (long) alpha) : logAFrac(q, sigma, alpha);
        return logA / (alpha - 1);
    }

    /** Composed RDP of all segments at each order. */
    public static double[] rdp(List<Segment> segments, double[] orders) {
        double[] out = new double[orders.length];
        for (Segment s : segments) {
            if (s.steps() == 0) continue;
            for (int i = 0; i < orders.length; i++) out[i] += s.steps() * rdp(s.q(), s.sigma(), orders[i]);
        }
        return out;
    }

    /**
     * ε(α) = R(α) − (ln δ + ln α)/(α − 1) + ln((α − 1)/α), minimised over the orders (NaN ignored); ε = ∞ when no
     * order gives a finite value.
     */
    public static Spent epsilon(double[] orders, double[] rdp, double delta) {
        if (!(delta > 0 && delta < 1)) throw new UsageException("delta must be in (0, 1), got " + delta);
        double best = Double.NaN, at = Double.NaN;
        for (int i = 0; i < orders.length; i++) {
            double a = orders[i];
            double e = rdp[i] - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
            if (!Double.isNaN(e) && (Double.isNaN(best) || e < best)) {
                best = e;
                at = a;
            }
        }
        return Double.isNaN(best) ? new Spent(Double.POSITIVE_INFINITY, Double.NaN) : new Spent(Math.max(0, best), at);
    }

    /** ε spent by the segments for δ over the default orders. */
    public static Spent epsilon(List<Segment> segments, double delta) {
        return epsilon(DEFAULT_ORDERS, rdp(segments, DEFAULT_ORDERS), delta);
    }

    /** ln A_α = ln Σ_{i=0}^{α} C(α,i) q^i (1−q)^{α−i} exp((i²−i)/(2σ²)), summed in log space. */
    private static double logAInt(double q, double sigma, long alpha) {
        double logA = Double.NEGATIVE_INFINITY, lq = Math.log(q), l1q = Math.log1p(-q), logBinom = 0;
        for (long i = 0; i <= alpha; i++) {
            if (i > 0) logBinom += Math.log((double) (alpha - i + 1)) - Math.log((double) i);
            double s = logBinom + i * lq + (alpha - i) * l1q + ((double) i * i - i) / (2 * sigma * sigma);
            logA = logAdd(logA, s);
        }
        return logA;
    }

    /** The fractional-order series of Mironov et al. 2019 (Opacus's _compute_log_a_frac), until both terms fall below e^−30. */
    private static double logAFrac(double q, double sigma, double alpha) {
        double logA0 = Double.NEGATIVE_INFINITY, logA1 = Double.NEGATIVE_INFINITY;
        double z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5, lq = Math.log(q), l1q = Math.log1p(-q);
        double logAbsCoef = 0, sign = 1;
        for (int i = 0; ; i++) {
            if (i > 0) {
                double f = (alpha - i + 1) / i; // C(α,i) = C(α,i−1)·(α−i+1)/i, sign may flip past α
                logAbsCoef += Math.log(Math.abs(f));
                if (f < 0) sign = -sign;
            }
            double j = alpha - i;
            double logT0 = logAbsCoef + i * lq + j * l1q;
            double logT1 = logAbsCoef + j * lq + i * l1q;
            double logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.sqrt(2) * sigma));
            double logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.sqrt(2) * sigma));
            double logS0 = logT0 + ((double) i * i - i) / (2 * sigma * sigma) + logE0;
            double logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
            if (sign > 0) {
                logA0 = logAdd(logA0, logS0);
                logA1 = logAdd(logA1, logS1);
            } else {
                logA0 = logSub(logA0, logS0);
                logA1 = logSub(logA1, logS1);
            }
            if (Math.max(logS0, logS1) < -30) break;
        }
        return logAdd(logA0, logA1);
    }

    /** ln erfc(x): direct while erfc is representable with full relative accuracy, else the asymptotic series. */
    static double logErfc(double x) {
        if (x < 20) return Math.log(Erf.erfc(x));
        double x2 = x * x, inv = 1 / (2 * x2);
        // erfc(x) = e^{−x²}/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + 105/(16x⁸) ...); the error at x ≥ 20 is < 1e-12
        double series = 1 - inv + 3 * inv * inv - 15 * inv * inv * inv + 105 * inv * inv * inv * inv;
        return -x2 - Math.log(x * Math.sqrt(Math.PI)) + Math.log(series);
    }

    static double logAdd(double a, double b) {
        double hi = Math.max(a, b), lo = Math.min(a, b);
        if (hi == Double.NEGATIVE_INFINITY) return hi;
        return hi + Math.log1p(Math.exp(lo - hi));
    }

    /** ln(e^a − e^b) for a ≥ b, as Opacus's _log_sub (which is only ever called with a ≥ b by the series). */
    static double logSub(double a, double b) {
        if (b == Double.NEGATIVE_INFINITY) return a;
        if (a == b) return Double.NEGATIVE_INFINITY;
        if (a < b) throw new ArithmeticException("RDP series: log of a negative difference");
        double d = Math.expm1(a - b);
        return Double.isInfinite(d) ? a : Math.log(d) + b;
    }

    private static double[] defaultOrders() {
        List<Double> o = new ArrayList<>();
        for (int x = 1; x < 100; x++) o.add(1 + x / 10.0);
        for (int a = 12; a < 64; a++) o.add((double) a);
        return o.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
