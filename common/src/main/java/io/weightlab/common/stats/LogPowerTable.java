package io.weightlab.common.stats;


/**
 * A mergeable summary of the centred values |x − μ| from which the generalized-Gaussian MLE's power sums
 * S_j(β) = Σ|x − μ|^β ln^j|x − μ| (j = 0, 1, 2) follow at ANY β without touching the data again.
 * <p>
 * The values are binned by the top {@value #MANTISSA_BITS} mantissa bits and the exponent of |x − μ| (a bin spans
 * a relative width of at most 2^-8, no log needed to find it). With c the log of the bin's geometric centre C,
 * each bin keeps the power sums M_k = Σ d^k of d = ln|x − μ| − c = ln(1 + u), u = |x − μ|/C − 1, |u| ≤ 2^-9, where
 * ln(1 + u) is its alternating series to u^6 (remainder below 2e-20). Since e^{βl} = e^{βc} Σ_k (βd)^k/k!,
 * S_j(β) is a short sum over the bins. The Taylor remainder relative to each value's own term is at most
 * (β·h)^{K+1}/(K+1)! · e^{β·h} with h = ln(1 + 2^-9) and K = {@value #ORDER}: 2.4e-15 at the bracket's β = 50,
 * about 2e-24 at β = 5. So one pass over the data replaces one exp per value per Newton step, and the table
 * (a few hundred KB) replaces caching the values. Zeros (which add nothing at β > 0) and non-finite values are
 * skipped.
 */
public final class LogPowerTable implements Mergeable<LogPowerTable> {
    private static final long serialVersionUID = 1L;
    /** Mantissa bits in a bin's key: 2^8 bins per octave. */
    static final int MANTISSA_BITS = 8;
    /** Taylor order of e^{βd} in the evaluation; the table holds d^0 … d^{ORDER+2} for S1 and S2. */
    static final int ORDER = 8;
    private static final int MOMENTS = ORDER + 3;
    private static final int SUB_BINS = 1 << MANTISSA_BITS, SHIFT = 52 - MANTISSA_BITS;
    /** Bound on |d| = |ln(1 + u)|. */
    private static final double HALF_WIDTH = Math.log1p(1.0 / (2 * SUB_BINS));
    private static final double[] INV_FACTORIAL = new double[ORDER + 1];
    /** Per sub-bin j: the geometric centre C_j of [1 + j/2^8, 1 + (j+1)/2^8) and 1/C_j. */
    private static final double[] CENTRE = new double[SUB_BINS], INV_CENTRE = new double[SUB_BINS];
    private static final long MANTISSA = 0x000FFFFFFFFFFFFFL, ONE = 0x3FF0000000000000L;

    static {
        INV_FACTORIAL[0] = 1;
        for (int k = 1; k <= ORDER; k++) INV_FACTORIAL[k] = INV_FACTORIAL[k - 1] / k;
        for (int j = 0; j < SUB_BINS; j++) {
            CENTRE[j] = Math.sqrt((1 + (double) j / SUB_BINS) * (1 + (j + 1.0) / SUB_BINS));
            INV_CENTRE[j] = 1 / CENTRE[j];
        }
    }

    private double mu;
    private transient int firstBin;
    private transient double[] rows = new double[0]; // rows[(bin − firstBin) · MOMENTS + k] = Σ d^k over the bin
    private long count;

    public LogPowerTable(double mu) {
        this.mu = mu;
    }

    public double mu() { return mu; }

    @Override
    public boolean isEmpty() { return count == 0; }

    @Override
    public LogPowerTable copy() {
        return new LogPowerTable(mu).merge(this);
    }

    /** Number of values in the table (finite, non-zero |x − μ|). */
    public long count() { return count; }

    /** Adds x[from, from + len). */
    public LogPowerTable add(double[] x, int from, int len) {
        final double m = mu;
        for (int i = from; i < from + len; i++) {
            double a = Math.abs(x[i] - m);
            if (!(a > 0) || a == Double.POSITIVE_INFINITY) continue; // NaN, zero, infinity
            int key;
            long bits;
            if (a >= Double.MIN_NORMAL) {
                bits = Double.doubleToRawLongBits(a);
                key = (int) (bits >>> SHIFT);
            } else { // subnormal: scale by 2^64 (exact), key 64 octaves lower
                bits = Double.doubleToRawLongBits(a * 0x1p64);
                key = (int) (bits >>> SHIFT) - (64 << MANTISSA_BITS);
            }
            int o = (key - firstBin) * MOMENTS;
            if (o < 0 || o >= rows.length) o = grow(key);
            double u = Double.longBitsToDouble((bits & MANTISSA) | ONE) * INV_CENTRE[key & (SUB_BINS - 1)] - 1;
            double d = u * (1 + u * (-0.5 + u * (1.0 / 3 + u * (-0.25 + u * (0.2 + u * (-1.0 / 6))))));
            double d2 = d * d, d3 = d2 * d, d4 = d2 * d2, d5 = d4 * d, d6 = d4 * d2, d7 = d6 * d, d8 = d4 * d4;
            double d9 = d8 * d, d10 = d8 * d2;
            double[] r = rows;
            r[o] += 1;
            r[o + 1] += d;
            r[o + 2] += d2;
            r[o + 3] += d3;
            r[o + 4] += d4;
            r[o + 5] += d5;
            r[o + 6] += d6;
            r[o + 7] += d7;
            r[o + 8] += d8;
            r[o + 9] += d9;
            r[o + 10] += d10;
            count++;
        }
        return this;
    }

    /** Makes room for {@code bin} (with slack on the side it grows) and returns its row offset. */
    private int grow(int bin) {
        int bins = rows.length / MOMENTS;
        if (bins == 0) {
            firstBin = bin - 4 * SUB_BINS;
            rows = new double[8 * SUB_BINS * MOMENTS];
        } else {
            int lo = Math.min(firstBin, bin - 2 * SUB_BINS), hi = Math.max(firstBin + bins, bin + 2 * SUB_BINS);
            double[] n = new double[(hi - lo) * MOMENTS];
            System.arraycopy(rows, 0, n, (firstBin - lo) * MOMENTS, rows.length);
            rows = n;
            firstBin = lo;
        }
        return (bin - firstBin) * MOMENTS;
    }

    /** Adds another table of the same location into this one (another location: IllegalArgumentException). */
    @Override
    public LogPowerTable merge(LogPowerTable o) {
        if (Double.compare(o.mu, mu) != 0) throw new IllegalArgumentException("tables centred at " + mu + " and " + o.mu);
        int ob = o.rows.length / MOMENTS;
        if (ob == 0) return this;
        if (rows.length == 0) {
            firstBin = o.firstBin;
            rows = o.rows.clone();
        } else {
            int bins = rows.length / MOMENTS;
            int lo = Math.min(firstBin, o.firstBin), hi = Math.max(firstBin + bins, o.firstBin + ob);
            if (lo != firstBin || hi != firstBin + bins) {
                double[] n = new double[(hi - lo) * MOMENTS];
                System.arraycopy(rows, 0, n, (firstBin - lo) * MOMENTS, rows.length);
                rows = n;
                firstBin = lo;
            }
            int off = (o.firstBin - firstBin) * MOMENTS;
            for (int i = 0; i < o.rows.length; i++) rows[off + i] += o.rows[i];
        }
        count += o.count;
        return this;
    }

    /**
     * {s0, s1, s2, lnScale} with S_j(β) = e^{lnScale} · s_j: the sums are scaled by the largest bin's e^{βc} so that
     * heavy outliers at large β do not overflow.
     */
    public double[] powerSums(double beta) {
        int bins = rows.length / MOMENTS;
        int last = bins - 1;
        while (last >= 0 && rows[last * MOMENTS] == 0) last--;
        if (last < 0) return new double[] {0, 0, 0, 0};
        double cMax = centre(last);
        double[] coef = new double[ORDER + 1];
        for (int k = 0; k <= ORDER; k++) coef[k] = INV_FACTORIAL[k] * Math.pow(beta, k);
        double s0 = 0, s1 = 0, s2 = 0;
        for (int b = 0; b < bins; b++) {
            int o = b * MOMENTS;
            if (rows[o] == 0) continue;
            double t0 = 0, t1 = 0, t2 = 0;
            for (int k = ORDER; k >= 0; k--) {
                t0 += coef[k] * rows[o + k];
                t1 += coef[k] * rows[o + k + 1];
                t2 += coef[k] * rows[o + k + 2];
            }
            double c = centre(b), w = Math.exp(beta * (c - cMax));
            s0 += w * t0;
            s1 += w * (c * t0 + t1);
            s2 += w * (c * c * t0 + 2 * c * t1 + t2);
        }
        return new double[] {s0, s1, s2, beta * cMax};
    }

    /** Σ|x − μ| (S0 at β = 1), unscaled. */
    public double absSum() {
        double[] s = powerSums(1);
        return s[0] * Math.exp(s[3]);
    }

    /** The largest relative Taylor remainder of any value's e^{βl} at this β. */
    public static double truncationBound(double beta) {
        double x = beta * HALF_WIDTH;
        return Math.pow(x, ORDER + 1) * INV_FACTORIAL[ORDER] / (ORDER + 1) * Math.exp(x);
    }

    /** ln of the geometric centre of row b: C_j · 2^(e − 1023) for key = e · 2^8 + j. */
    private double centre(int b) {
        int key = firstBin + b, e = (key >> MANTISSA_BITS) - 1023;
        double c = CENTRE[key & (SUB_BINS - 1)];
        return e >= -1000 ? Math.log(Math.scalb(c, e)) : Math.log(Math.scalb(c, e + 64)) - 64 * Math.log(2);
    }

    /** Non-empty bins (for sizing and tests). */
    public int occupiedBins() {
        int n = 0;
        for (int o = 0; o < rows.length; o += MOMENTS) if (rows[o] > 0) n++;
        return n;
    }

    @Override
    public String toString() {
        return "LogPowerTable{mu=" + mu + ", count=" + count + ", bins=" + occupiedBins() + "/" + rows.length / MOMENTS + "}";
    }

    // Serialised as the occupied rows only, each with its key: a table's tails are sparse.
    private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
        out.defaultWriteObject();
        out.writeInt(occupiedBins());
        for (int o = 0; o < rows.length; o += MOMENTS) {
            if (rows[o] == 0) continue;
            out.writeInt(firstBin + o / MOMENTS);
            for (int k = 0; k < MOMENTS; k++) out.writeDouble(rows[o + k]);
        }
    }

    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        int n = in.readInt();
        int[] keys = new int[n];
        double[] packed = new double[n * MOMENTS];
        for (int i = 0; i < n; i++) {
            keys[i] = in.readInt();
            for (int k = 0; k < MOMENTS; k++) packed[i * MOMENTS + k] = in.readDouble();
        }
        rows = new double[0];
        firstBin = 0;
        if (n == 0) return;
        firstBin = keys[0];
        rows = new double[(keys[n - 1] - keys[0] + 1) * MOMENTS];
        for (int i = 0; i < n; i++) System.arraycopy(packed, i * MOMENTS, rows, (keys[i] - firstBin) * MOMENTS, MOMENTS);
    }
}
