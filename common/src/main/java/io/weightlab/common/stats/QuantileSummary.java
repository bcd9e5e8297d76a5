package io.weightlab.common.stats;

import io.weightlab.common.io.DType;
import io.weightlab.common.io.ElementDecoder;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.memory.Memory;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Mergeable quantiles of the finite values of a tensor. Two forms behind one type:
 * <ul>
 *   <li>exact: for raw dtypes of at most 16 bits (BF16, F16, FP8, 8/16-bit integers) a count per bit pattern,
 *       which gives exact quantiles at the cost of one array increment per element;</li>
 *   <li>sketched: an Apache DataSketches KLL sketch (k = {@value #KLL_K}) for wider or dequantized values, with
 *       normalized rank error {@link #rankError()}.</li>
 * </ul>
 * Quantile definition in both forms: the smallest value v with F(v) ≥ p (numpy's {@code method="inverted_cdf"}).
 */
public final class QuantileSummary implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final int KLL_K = 400;

    private DType exactType;
    private transient long[] counts;
    private transient KllDoublesSketch sketch;

    private QuantileSummary(DType exactType) {
        this.exactType = exactType;
        if (exactType != null) counts = new long[1 << exactType.bits()];
        else sketch = KllDoublesSketch.newHeapInstance(KLL_K);
    }

    /** An exact histogram when {@code rawType} allows it, else a KLL sketch. */
    public static QuantileSummary forType(DType rawType, boolean valuesAreRaw) {
        return new QuantileSummary(valuesAreRaw && supportsExact(rawType) ? rawType : null);
    }

    public static QuantileSummary sketched() {
        return new QuantileSummary(null);
    }

    static boolean supportsExact(DType t) {
        return t != null && t.isDecodable() && t.bits() <= 16 && t.bits() % 8 == 0;
    }

    public boolean isExact() { return exactType != null; }

    /** Normalized rank error of the answers: 0 when exact, the KLL bound (about 99% confidence) otherwise. */
    public double rankError() {
        return isExact() ? 0.0 : KllDoublesSketch.getNormalizedRankError(KLL_K, false);
    }

    private static final java.util.Map<DType, double[]> CODE_VALUES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The value of every bit pattern of an exact-capable dtype (code i is little-endian bytes of i). */
    static double[] codeValues(DType t) {
        return CODE_VALUES.computeIfAbsent(t, d -> {
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

    /** The exact moments of everything counted so far (exact form only). */
    public MomentAccumulator moments() {
        flush();
        MomentAccumulator m = new MomentAccumulator();
        m.addHistogram(codeValues(exactType), counts);
        return m;
    }

    private static final java.lang.invoke.VarHandle SHORT_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    /** Elements counted into int bins before they are flushed to the long totals (keeps bins in cache). */
    private static final int FLUSH_EVERY = 1 << 30;
    private transient int[] binsEven;
    private transient int[] binsOdd;
    private transient int pending;

    /**
     * Adds raw little-endian elements (exact form only). Two interleaved int histograms break the dependency
     * between neighbouring equal values (weights cluster in a few hundred bins) and halve the cache footprint.
     */
    public void addRaw(byte[] src, int offset, int count) {
        if (binsEven == null) {
            binsEven = new int[counts.length];
            binsOdd = new int[counts.length];
        }
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

    /** Moves the int bins into the long totals. */
    private void flush() {
        if (binsEven == null || pending == 0) return;
        for (int k = 0; k < counts.length; k++) {
            counts[k] += (long) binsEven[k] + binsOdd[k];
        }
        java.util.Arrays.fill(binsEven, 0);
        java.util.Arrays.fill(binsOdd, 0);
        pending = 0;
    }

    /** Adds decoded values (sketched form only); non-finite values are skipped. */
    public void addValues(double[] values, int from, int len) {
        int end = from + len;
        int i = from;
        while (i < end) {
            int j = i;
            while (j < end && Double.isFinite(values[j])) j++;
            if (j > i) sketch.update(values, i, j - i);
            i = j + 1;
        }
    }

    public QuantileSummary merge(QuantileSummary o) {
        flush();
        o.flush();
        if (isExact() && o.isExact() && exactType == o.exactType) {
            for (int i = 0; i < counts.length; i++) counts[i] += o.counts[i];
            return this;
        }
        if (isExact()) toSketch();
        if (o.isExact()) {
            QuantileSummary copy = new QuantileSummary(o.exactType);
            System.arraycopy(o.counts, 0, copy.counts, 0, o.counts.length);
            copy.toSketch();
            sketch.merge(copy.sketch);
        } else {
            sketch.merge(o.sketch);
        }
        return this;
    }

    /** Converts an exact histogram into a sketch (weighted updates), for merging with sketched partials. */
    private void toSketch() {
        KllDoublesSketch s = KllDoublesSketch.newHeapInstance(KLL_K);
        double[] table = codeValues(exactType);
        for (int code = 0; code < counts.length; code++) {
            if (counts[code] == 0) continue;
            double v = table[code];
            if (Double.isFinite(v)) s.update(v, counts[code]);
        }
        sketch = s;
        counts = null;
        exactType = null;
    }

    /** Quantiles at the given probabilities, or NaN when no finite value was seen. */
    public double[] quantiles(double[] probabilities) {
        double[] out = new double[probabilities.length];
        if (!isExact()) {
            if (sketch.isEmpty()) {
                Arrays.fill(out, Double.NaN);
                return out;
            }
            for (int i = 0; i < out.length; i++) out[i] = sketch.getQuantile(probabilities[i], QuantileSearchCriteria.INCLUSIVE);
            return out;
        }
        flush();
        int[] order = sortedCodes(exactType);
        double[] table = codeValues(exactType);
        long total = 0;
        for (int code : order) total += counts[code];
        if (total == 0) {
            Arrays.fill(out, Double.NaN);
            return out;
        }
        for (int q = 0; q < out.length; q++) {
            double target = probabilities[q] * total;
            long cum = 0;
            double answer = Double.NaN;
            for (int code : order) {
                long c = counts[code];
                if (c == 0) continue;
                cum += c;
                answer = table[code];
                if (cum >= target) break;
            }
            // -0.0 and 0.0 are both zero; report +0.0 as numpy prints it.
            out[q] = answer == 0.0 ? 0.0 : answer;
        }
        return out;
    }

    private static final java.util.Map<DType, int[]> SORTED_CODES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The codes of finite values of a dtype, in ascending order of value. */
    static int[] sortedCodes(DType t) {
        return SORTED_CODES.computeIfAbsent(t, d -> {
            double[] v = codeValues(d);
            return java.util.stream.IntStream.range(0, v.length).filter(i -> Double.isFinite(v[i])).boxed()
                    .sorted((x, y) -> Double.compare(v[x], v[y])).mapToInt(Integer::intValue).toArray();
        });
    }

    /** An independent copy. */
    public QuantileSummary copy() {
        flush();
        QuantileSummary c = new QuantileSummary(exactType);
        if (isExact()) System.arraycopy(counts, 0, c.counts, 0, counts.length);
        else c.sketch = KllDoublesSketch.heapify(Memory.wrap(sketch.toByteArray()));
        return c;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        flush();
        out.defaultWriteObject();
        if (isExact()) {
            int nonZero = 0;
            for (long c : counts) if (c != 0) nonZero++;
            out.writeInt(nonZero);
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] != 0) {
                    out.writeInt(i);
                    out.writeLong(counts[i]);
                }
            }
        } else {
            byte[] b = sketch.toByteArray();
            out.writeInt(b.length);
            out.write(b);
        }
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        if (exactType != null) {
            counts = new long[1 << exactType.bits()];
            int nonZero = in.readInt();
            for (int k = 0; k < nonZero; k++) {
                int i = in.readInt();
                counts[i] = in.readLong();
            }
        } else {
            byte[] b = new byte[in.readInt()];
            in.readFully(b);
            sketch = KllDoublesSketch.heapify(Memory.wrap(b));
        }
    }
}
