package io.weightlab.common.stats;


/**
 * Mergeable first-to-fourth central moments plus extrema, norms, zero and non-finite counts, accumulated in
 * double. Values arrive in blocks: each block is reduced exactly around its own mean (two passes over data in
 * cache) and merged with Pébay's pairwise formulas, so no large sums are ever subtracted.
 * NaN and ±Inf are counted and kept out of the moments.
 */
public final class MomentAccumulator implements Mergeable<MomentAccumulator> {
    private static final long serialVersionUID = 1L;

    private long n;
    private double mean;
    private double m2;
    private double m3;
    private double m4;
    private double min = Double.POSITIVE_INFINITY;
    private double max = Double.NEGATIVE_INFINITY;
    private double absSum;
    private double sumSquares;
    private long zeros;
    private long nan;
    private long posInf;
    private long negInf;

    /** Adds {@code values[from..from+len)}; true when every one of them was finite (callers then skip their own checks). */
    public boolean addBlock(double[] values, int from, int len) {
        if (len <= 0) return true;
        if (addFiniteBlock(values, from, len)) return true;
        double s = 0;
        int finite = 0;
        for (int i = from; i < from + len; i++) {
            double v = values[i];
            if (Double.isFinite(v)) {
                s += v;
                finite++;
            }
        }
        if (finite != len) countNonFinite(values, from, len);
        if (finite == 0) return false;
        double bm = s / finite;
        double c2 = 0, c3 = 0, c4 = 0, abs = 0, sq = 0, lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        long z = 0;
        for (int i = from; i < from + len; i++) {
            double v = values[i];
            if (!Double.isFinite(v)) continue;
            double d = v - bm;
            double d2 = d * d;
            c2 += d2;
            c3 += d2 * d;
            c4 += d2 * d2;
            abs += Math.abs(v);
            sq += v * v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (v == 0.0) z++;
        }
        absorb(finite, bm, c2, c3, c4, abs, sq, z, lo, hi);
        return finite == len;
    }

    /**
     * The block when every value is finite (the usual case), with independent partial sums so that the additions do
     * not wait on each other: one running sum per moment is bound by the adder's latency (2.0 ns per value on this
     * machine, the slice pass's largest cost; BENCHMARKS.md). Returns false, having added nothing, when the block
     * holds NaN or ±Inf (or values whose sum overflows), for the checked loop above.
     */
    private boolean addFiniteBlock(double[] values, int from, int len) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int end = from + len, i = from;
        for (; i + 3 < end; i += 4) {
            s0 += values[i];
            s1 += values[i + 1];
            s2 += values[i + 2];
            s3 += values[i + 3];
        }
        for (; i < end; i++) s0 += values[i];
        double s = (s0 + s1) + (s2 + s3);
        if (!Double.isFinite(s)) return false; // a NaN or ±Inf among the values makes the sum one
        double bm = s / len;
        double c2a = 0, c3a = 0, c4a = 0, absA = 0, sqA = 0, c2b = 0, c3b = 0, c4b = 0, absB = 0, sqB = 0;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        long z = 0;
        for (i = from; i + 1 < end; i += 2) {
            double v = values[i], w = values[i + 1];
            double d = v - bm, e = w - bm;
            double d2 = d * d, e2 = e * e;
            c2a += d2;
            c2b += e2;
            c3a += d2 * d;
            c3b += e2 * e;
            c4a += d2 * d2;
            c4b += e2 * e2;
            absA += Math.abs(v);
            absB += Math.abs(w);
            sqA += v * v;
            sqB += w * w;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (w < lo) lo = w;
            if (w > hi) hi = w;
            if (v == 0.0) z++;
            if (w == 0.0) z++;
        }
        if (i < end) {
            double v = values[i], d = v - bm, d2 = d * d;
            c2a += d2;
            c3a += d2 * d;
            c4a += d2 * d2;
            absA += Math.abs(v);
            sqA += v * v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (v == 0.0) z++;
        }
        absorb(len, bm, c2a + c2b, c3a + c3b, c4a + c4b, absA + absB, sqA + sqB, z, lo, hi);
        return true;
    }

    /** Folds one block's exact central sums and extrema into the running totals. */
    private void absorb(long finite, double blockMean, double c2, double c3, double c4, double abs, double sq,
                        long z, double lo, double hi) {
        merge(finite, blockMean, c2, c3, c4);
        absSum += abs;
        sumSquares += sq;
        zeros += z;
        if (lo < min) min = lo;
        if (hi > max) max = hi;
    }

    private void countNonFinite(double[] values, int from, int len) {
        for (int i = from; i < from + len; i++) {
            double v = values[i];
            if (Double.isNaN(v)) nan++;
            else if (v == Double.POSITIVE_INFINITY) posInf++;
            else if (v == Double.NEGATIVE_INFINITY) negInf++;
        }
    }

    /**
     * Adds {@code counts[i]} copies of {@code values[i]} for every i: the moments of a histogram of distinct
     * values, computed exactly around their mean in two passes over the bins (no per-element arithmetic).
     */
    public void addHistogram(double[] values, long[] counts) {
        long finite = 0;
        double s = 0;
        for (int i = 0; i < values.length; i++) {
            long c = counts[i];
            if (c == 0) continue;
            double v = values[i];
            if (Double.isNaN(v)) nan += c;
            else if (v == Double.POSITIVE_INFINITY) posInf += c;
            else if (v == Double.NEGATIVE_INFINITY) negInf += c;
            else {
                finite += c;
                s += c * v;
            }
        }
        if (finite == 0) return;
        double bm = s / finite;
        double c2 = 0, c3 = 0, c4 = 0, abs = 0, sq = 0, lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        long z = 0;
        for (int i = 0; i < values.length; i++) {
            long c = counts[i];
            double v = values[i];
            if (c == 0 || !Double.isFinite(v)) continue;
            double d = v - bm;
            double d2 = d * d;
            c2 += c * d2;
            c3 += c * d2 * d;
            c4 += c * d2 * d2;
            abs += c * Math.abs(v);
            sq += c * v * v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (v == 0.0) z += c;
        }
        absorb(finite, bm, c2, c3, c4, abs, sq, z, lo, hi);
    }

    public void add(double v) {
        addBlock(new double[] {v}, 0, 1);
    }

    /** Pébay (2008) pairwise update of (n, mean, M2, M3, M4). */
    private void merge(long nb, double meanB, double m2b, double m3b, double m4b) {
        if (nb == 0) return;
        if (n == 0) {
            n = nb;
            mean = meanB;
            m2 = m2b;
            m3 = m3b;
            m4 = m4b;
            return;
        }
        double na = n;
        double nbD = nb;
        double nt = na + nbD;
        double delta = meanB - mean;
        double dn = delta / nt;
        double dn2 = dn * dn;
        double term1 = delta * dn * na * nbD;
        double newMean = mean + dn * nbD;
        double newM4 = m4 + m4b + term1 * dn2 * (na * na - na * nbD + nbD * nbD)
                + 6.0 * dn2 * (na * na * m2b + nbD * nbD * m2) + 4.0 * dn * (na * m3b - nbD * m3);
        double newM3 = m3 + m3b + term1 * dn * (na - nbD) + 3.0 * dn * (na * m2b - nbD * m2);
        double newM2 = m2 + m2b + term1;
        n += nb;
        mean = newMean;
        m2 = newM2;
        m3 = newM3;
        m4 = newM4;
    }

    @Override
    public boolean isEmpty() {
        return n == 0 && nan == 0 && posInf == 0 && negInf == 0;
    }

    /** An independent copy. */
    @Override
    public MomentAccumulator copy() {
        MomentAccumulator c = new MomentAccumulator();
        c.merge(this);
        return c;
    }

    /** Merges another accumulator into this one (associative and commutative up to rounding). */
    @Override
    public MomentAccumulator merge(MomentAccumulator o) {
        merge(o.n, o.mean, o.m2, o.m3, o.m4);
        absSum += o.absSum;
        sumSquares += o.sumSquares;
        zeros += o.zeros;
        nan += o.nan;
        posInf += o.posInf;
        negInf += o.negInf;
        if (o.min < min) min = o.min;
        if (o.max > max) max = o.max;
        return this;
    }

    /** Finite values counted. */
    public long count() { return n; }

    public long nanCount() { return nan; }

    public long posInfCount() { return posInf; }

    public long negInfCount() { return negInf; }

    public long nonFiniteCount() { return nan + posInf + negInf; }

    public long zeroCount() { return zeros; }

    public double mean() { return n == 0 ? Double.NaN : mean; }

    public double m2() { return m2; }

    public double m3() { return m3; }

    public double m4() { return m4; }

    public double min() { return n == 0 ? Double.NaN : min; }

    public double max() { return n == 0 ? Double.NaN : max; }

    public double maxAbs() { return n == 0 ? Double.NaN : Math.max(Math.abs(min), Math.abs(max)); }

    public double l1() { return absSum; }

    public double l2() { return Math.sqrt(sumSquares); }

    public double rms() { return n == 0 ? Double.NaN : Math.sqrt(sumSquares / n); }

    /** Population variance M2/n (numpy's default, ddof=0). */
    public double variancePopulation() { return n == 0 ? Double.NaN : m2 / n; }

    /** Sample variance M2/(n-1) (torch's default, ddof=1). */
    public double varianceSample() { return n < 2 ? Double.NaN : m2 / (n - 1); }

    public double stdPopulation() { return Math.sqrt(variancePopulation()); }

    public double stdSample() { return Math.sqrt(varianceSample()); }

    /** Population skewness g1 = m3 / m2^1.5 with m_k = M_k/n; NaN when the variance is 0. */
    public double skewness() {
        if (n == 0 || m2 == 0) return Double.NaN;
        return Math.sqrt((double) n) * m3 / Math.pow(m2, 1.5);
    }

    /** Population excess kurtosis m4/m2^2 - 3; NaN when the variance is 0. */
    public double excessKurtosis() {
        if (n == 0 || m2 == 0) return Double.NaN;
        return (double) n * m4 / (m2 * m2) - 3.0;
    }
}
