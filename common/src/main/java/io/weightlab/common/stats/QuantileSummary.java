package io.weightlab.common.stats;

import io.weightlab.common.model.DType;
import io.weightlab.common.io.ElementDecoder;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * Mergeable, deterministic quantiles of the finite values of a tensor: a count per 16-bit code.
 * <ul>
 *   <li>EXACT, for stored dtypes of at most 16 bits (BF16, F16, FP8, 8/16-bit integers): the code is the
 *       element's own bit pattern, so quantiles are exact and the moments follow exactly from the counts.</li>
 *   <li>BUCKETED, for wider or dequantized values: the code is the top 16 bits of the value as a float32 (sign,
 *       exponent, 7 mantissa bits), a bucket of relative width 2^-7; the answer is the bucket's midpoint, within
 *       {@link #relativeError()} = 2^-8 (+2^-24 float rounding) of the exact quantile, and exactly 0 for the
 *       bucket of ±0 and the subnormals below 2^-133.</li>
 * </ul>
 * Counting costs one increment per element and merging is adding arrays, so results do not depend on how
 * the data was split. (A KLL sketch was measured at 0.1 GB/s per thread here, randomized, and with a rank error
 * whose value error at the tails is far larger than 2^-8.)
 * Quantile definition: the smallest value v with F(v) ≥ p (numpy's {@code method="inverted_cdf"}).
 */
public final class QuantileSummary implements Mergeable<QuantileSummary> {
    private static final long serialVersionUID = 3L;
    public static final double BUCKET_RELATIVE_ERROR = 0x1p-8 + 0x1p-24;
    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    /** Elements counted into int bins before they are flushed to the long totals. */
    private static final int FLUSH_EVERY = 1 << 30;
    private static final String BUCKETED = "BUCKETED";
    private static final Map<String, double[]> CODE_VALUES = new ConcurrentHashMap<>();
    private static final Map<String, int[]> SORTED_CODES = new ConcurrentHashMap<>();
    private static final Map<String, int[]> RANKS = new ConcurrentHashMap<>();

    /** The stored dtype whose bit patterns are counted, or null for float32 buckets. */
    private DType exactType;
    private transient long[] counts;
    private transient int[] binsEven;
    private transient int[] binsOdd;
    private transient int pending;
    /**
     * Where the non-zero counts are: [lo0, hi0) in the lower half of the codes, [lo1, hi1) in the upper (sign) half;
     * empty when lo >= hi. A tensor's values occupy a few thousand of the 65,536 codes, so merging, quantiles and
     * serialising walk these ranges instead of the whole table (most of a fleet wave's driver time, BENCHMARKS.md).
     * Two ranges, because negative and positive values sit in different halves.
     */
    private transient int lo0, hi0, lo1, hi1;

    private QuantileSummary(DType exactType) {
        this.exactType = exactType;
        counts = new long[exactType == null ? 1 << 16 : 1 << exactType.bits()];
        clearRanges();
    }

    private void clearRanges() {
        lo0 = lo1 = counts.length;
        hi0 = hi1 = 0;
    }

    /** The ranges recomputed from the counts: each half scanned from both ends to its first non-zero count. */
    private void recomputeRanges() {
        int half = counts.length >>> 1;
        int a = 0, b = half;
        while (a < b && counts[a] == 0) a++;
        while (b > a && counts[b - 1] == 0) b--;
        int c = half, d = counts.length;
        while (c < d && counts[c] == 0) c++;
        while (d > c && counts[d - 1] == 0) d--;
        lo0 = a < b ? a : counts.length;
        hi0 = a < b ? b : 0;
        lo1 = c < d ? c : counts.length;
        hi1 = c < d ? d : 0;
    }

    /** The union of this summary's ranges and another's (both over the same table). */
    private void widenRanges(QuantileSummary o) {
        lo0 = Math.min(lo0, o.lo0);
        hi0 = Math.max(hi0, o.hi0);
        lo1 = Math.min(lo1, o.lo1);
        hi1 = Math.max(hi1, o.hi1);
    }

    /** Exact counts when the values are {@code rawType}'s stored bit patterns of at most 16 bits, else buckets. */
    public static QuantileSummary forType(DType rawType, boolean valuesAreRaw) {
        return new QuantileSummary(valuesAreRaw && supportsExact(rawType) ? rawType : null);
    }

    public static QuantileSummary bucketed() {
        return new QuantileSummary(null);
    }

    static boolean supportsExact(DType t) {
        return t != null && t.isDecodable() && t.bits() <= 16 && t.bits() % 8 == 0;
    }

    public boolean isExact() { return exactType != null; }

    /** Bound on |answer - exact quantile| / |exact quantile|: 0 when exact. */
    public double relativeError() {
        return isExact() ? 0.0 : BUCKET_RELATIVE_ERROR;
    }

    private String key() { return exactType == null ? BUCKETED : exactType.name(); }

    /** The value reported for each code: the element's value (exact) or the bucket's midpoint. */
    static double[] codeValues(String key) {
        return CODE_VALUES.computeIfAbsent(key, k -> {
            if (k.equals(BUCKETED)) {
                double[] v = new double[1 << 16];
                for (int c = 0; c < v.length; c++) {
                    double lo = Float.intBitsToFloat(c << 16), hi = Float.intBitsToFloat((c << 16) | 0xffff);
                    v[c] = (c & 0x7fff) == 0 ? 0.0 : (Double.isFinite(lo) && Double.isFinite(hi) && !Double.isNaN(hi) ? (lo + hi) / 2 : Double.NaN);
                }
                return v;
            }
            DType d = DType.valueOf(k);
            int n = 1 << d.bits();
            byte[] raw = new byte[n * d.byteSize()];
            for (int c = 0; c < n; c++) {
                raw[c * d.byteSize()] = (byte) c;
                if (d.byteSize() == 2) raw[c * 2 + 1] = (byte) (c >>> 8);
            }
            double[] v = new double[n];
            ElementDecoder.decode(d, raw, 0, n, v, 0);
            return v;
        });
    }

    /** The codes of finite values in ascending order of value. */
    static int[] sortedCodes(String key) {
        return SORTED_CODES.computeIfAbsent(key, k -> {
            double[] v = codeValues(k);
            return IntStream.range(0, v.length).filter(i -> Double.isFinite(v[i])).boxed()
                    .sorted((x, y) -> Double.compare(v[x], v[y])).mapToInt(Integer::intValue).toArray();
        });
    }

    /** Each code's position in {@link #sortedCodes}, or -1 for codes of non-finite values. */
    static int[] ranks(String key) {
        return RANKS.computeIfAbsent(key, k -> {
            int[] order = sortedCodes(k);
            int[] r = new int[codeValues(k).length];
            java.util.Arrays.fill(r, -1);
            for (int i = 0; i < order.length; i++) r[order[i]] = i;
            return r;
        });
    }

    /** The exact moments of everything counted so far (exact form only). */
    public MomentAccumulator moments() {
        if (!isExact()) throw new IllegalStateException("moments come from the counts only in the exact form");
        flush();
        MomentAccumulator m = new MomentAccumulator();
        m.addHistogram(codeValues(key()), counts);
        return m;
    }

    /**
     * The generalized-Gaussian fit from the counts: exact for exact summaries (every MLE sum over the bins);
     * for bucketed ones only the KS part is meaningful, so callers use {@link #bucketValues()} instead.
     */
    public GgFit ggFitExact(MomentAccumulator m) {
        if (!isExact()) throw new IllegalStateException("only exact summaries hold every value");
        flush();
        return GgFit.fromHistogram(m, codeValues(key()), counts, false);
    }

    /** The bucket (or value) of every code and its count, for KS distances against fitted CDFs. */
    public double[] bucketValues() {
        return codeValues(key());
    }

    public long[] countsView() {
        flush();
        return counts;
    }

    private void ensureBins() {
        if (binsEven == null) {
            binsEven = new int[counts.length];
            binsOdd = new int[counts.length];
        }
    }

    /**
     * Adds raw little-endian elements (exact form only). Two interleaved int histograms break the dependency
     * between neighbouring equal values (weights cluster in a few hundred bins) and halve the cache footprint.
     */
    public void addRaw(byte[] src, int offset, int count) {
        ensureBins();
        if (pending > FLUSH_EVERY - count) flush();
        int[] a = binsEven, b = binsOdd;
        int i = 0;
        if (exactType.bits() == 8) {
            for (; i + 1 < count; i += 2) {
                a[src[offset + i] & 0xff]++;
                b[src[offset + i + 1] & 0xff]++;
            }
            if (i < count) a[src[offset + i] & 0xff]++;
        } else {
            int p = offset;
            for (; i + 1 < count; i += 2, p += 4) {
                a[((short) SHORT_LE.get(src, p)) & 0xffff]++;
                b[((short) SHORT_LE.get(src, p + 2)) & 0xffff]++;
            }
            if (i < count) a[((short) SHORT_LE.get(src, p)) & 0xffff]++;
        }
        pending += count;
    }

    /** Adds decoded values (bucketed form only); non-finite values are left to the moment counters. */
    public void addValues(double[] values, int from, int len) {
        ensureBins();
        if (pending > FLUSH_EVERY - len) flush();
        int[] a = binsEven, b = binsOdd;
        for (int i = from; i < from + len; i++) {
            double v = values[i];
            if (!Double.isFinite(v)) continue;
            int code = Float.floatToRawIntBits((float) v) >>> 16;
            if ((i & 1) == 0) a[code]++;
            else b[code]++;
        }
        pending += len;
    }

    /**
     * Adds decoded values that are all finite (bucketed form only): {@link #addValues} without its finiteness test
     * and its alternation test per value (this loop was a third of a float32 slice's time).
     */
    public void addFiniteValues(double[] values, int from, int len) {
        ensureBins();
        if (pending > FLUSH_EVERY - len) flush();
        int[] a = binsEven, b = binsOdd;
        int i = from, end = from + len;
        for (; i + 1 < end; i += 2) {
            a[Float.floatToRawIntBits((float) values[i]) >>> 16]++;
            b[Float.floatToRawIntBits((float) values[i + 1]) >>> 16]++;
        }
        if (i < end) a[Float.floatToRawIntBits((float) values[i]) >>> 16]++;
        pending += len;
    }

    /**
     * Moves the int bins into the totals and frees them (two int[65536]): a finished slice's summary is held until the
     * shuffle takes it, and a fleet task emits thousands of them. Adding more values later allocates them again.
     */
    public void compact() {
        addBins();
        binsEven = null;
        binsOdd = null;
    }

    /** Moves the int bins into the long totals. */
    private void flush() {
        if (!addBins()) return;
        Arrays.fill(binsEven, 0);
        Arrays.fill(binsOdd, 0);
    }

    /** Adds the int bins to the totals (not clearing them); false when there was nothing to add. */
    private boolean addBins() {
        if (binsEven == null || pending == 0) return false;
        for (int k = 0; k < counts.length; k++) counts[k] += (long) binsEven[k] + binsOdd[k];
        pending = 0;
        recomputeRanges();
        return true;
    }

    /** Summaries of different stored dtypes merge on float32 buckets (the exact counts are re-bucketed). */
    @Override
    public QuantileSummary merge(QuantileSummary o) {
        flush();
        o.flush();
        if (exactType == o.exactType) {
            for (int i = o.lo0; i < o.hi0; i++) counts[i] += o.counts[i];
            for (int i = o.lo1; i < o.hi1; i++) counts[i] += o.counts[i];
            widenRanges(o);
            return this;
        }
        if (isExact()) toBuckets();
        long[] other = o.isExact() ? o.copy().toBuckets() : o.counts;
        for (int i = 0; i < counts.length; i++) counts[i] += other[i];
        recomputeRanges();
        return this;
    }

    /** Re-counts exact codes into float32 buckets (for merging tensors of different dtypes). */
    private long[] toBuckets() {
        double[] values = codeValues(key());
        long[] b = new long[1 << 16];
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] == 0 || !Double.isFinite(values[c])) continue;
            b[Float.floatToRawIntBits((float) values[c]) >>> 16] += counts[c];
        }
        counts = b;
        exactType = null;
        binsEven = binsOdd = null;
        recomputeRanges();
        return counts;
    }

    /**
     * Quantiles at the given probabilities, or NaN when no finite value was seen: for each p, the smallest value
     * whose cumulative count reaches p x total (p = 0: the smallest value present). One pass over the codes in value
     * order with the probabilities taken in increasing order, and no array beside the counts (a 512 KB cumulative
     * array per tensor was most of a fleet wave's allocation on the driver).
     */
    public double[] quantiles(double[] probabilities) {
        flush();
        double[] out = new double[probabilities.length];
        int[] order = sortedCodes(key());
        int[] rank = ranks(key());
        double[] table = codeValues(key());
        // the counted codes' span in value order: the walk below visits only it (outside it every count is 0)
        long total = 0;
        int first = order.length, last = -1;
        for (int[] r : new int[][] {{lo0, hi0}, {lo1, hi1}}) {
            for (int code = r[0]; code < r[1]; code++) {
                if (counts[code] == 0 || rank[code] < 0) continue; // exact tables also count NaN/Inf codes
                total += counts[code];
                first = Math.min(first, rank[code]);
                last = Math.max(last, rank[code]);
            }
        }
        if (total == 0) {
            Arrays.fill(out, Double.NaN);
            return out;
        }
        Integer[] byP = new Integer[probabilities.length];
        for (int q = 0; q < byP.length; q++) byP[q] = q;
        Arrays.sort(byP, (a, b) -> Double.compare(probabilities[a], probabilities[b]));
        int next = 0;
        long run = 0;
        int lastCode = -1;
        for (int i = first; i <= last && next < byP.length; i++) {
            long c = counts[order[i]];
            if (c == 0) continue;
            run += c;
            lastCode = order[i];
            while (next < byP.length && run >= probabilities[byP[next]] * total) out[byP[next++]] = table[lastCode];
        }
        while (next < byP.length) out[byP[next++]] = table[lastCode]; // past the end: the largest value present
        // -0.0 and 0.0 are both zero; report +0.0 as numpy prints it.
        for (int q = 0; q < out.length; q++) if (out[q] == 0.0) out[q] = 0.0;
        return out;
    }

    @Override
    public boolean isEmpty() {
        flush();
        return lo0 >= hi0 && lo1 >= hi1;
    }

    /** An independent copy. */
    @Override
    public QuantileSummary copy() {
        flush();
        QuantileSummary c = new QuantileSummary(exactType);
        if (lo0 < hi0) System.arraycopy(counts, lo0, c.counts, lo0, hi0 - lo0);
        if (lo1 < hi1) System.arraycopy(counts, lo1, c.counts, lo1, hi1 - lo1);
        c.widenRanges(this);
        return c;
    }

    /** The occupied codes only, as (int code, long count) pairs in one block (a write call per number was 9% of a slice's time). */
    private void writeObject(ObjectOutputStream out) throws IOException {
        flush();
        out.defaultWriteObject();
        int nonZero = 0;
        for (int i = lo0; i < hi0; i++) if (counts[i] != 0) nonZero++;
        for (int i = lo1; i < hi1; i++) if (counts[i] != 0) nonZero++;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(nonZero * 12);
        for (int[] r : new int[][] {{lo0, hi0}, {lo1, hi1}}) {
            for (int i = r[0]; i < r[1]; i++) if (counts[i] != 0) b.putInt(i).putLong(counts[i]);
        }
        out.writeInt(nonZero);
        out.write(b.array());
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        counts = new long[exactType == null ? 1 << 16 : 1 << exactType.bits()];
        int nonZero = in.readInt();
        if (nonZero < 0 || nonZero > counts.length) throw new IOException("corrupt quantile summary");
        byte[] pairs = new byte[nonZero * 12];
        in.readFully(pairs);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(pairs);
        for (int k = 0; k < nonZero; k++) {
            int i = b.getInt();
            if (i < 0 || i >= counts.length) throw new IOException("corrupt quantile summary");
            counts[i] = b.getLong();
        }
        recomputeRanges();
    }
}
