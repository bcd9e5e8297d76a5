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

    /** Adds raw little-endian elements (exact form only). */
    public void addRaw(byte[] src, int offset, int count) {
        long[] c = counts;
        if (exactType.bits() == 8) {
            for (int i = 0; i < count; i++) c[src[offset + i] & 0xff]++;
        } else {
            for (int i = 0, p = offset; i < count; i++, p += 2) c[(src[p] & 0xff) | ((src[p + 1] & 0xff) << 8)]++;
        }
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
        byte[] b = new byte[2];
        for (int code = 0; code < counts.length; code++) {
            if (counts[code] == 0) continue;
            b[0] = (byte) code;
            b[1] = (byte) (code >>> 8);
            double v = ElementDecoder.decodeOne(exactType, b, 0);
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
        int distinct = 0;
        double[] values = new double[counts.length];
        long[] weights = new long[counts.length];
        byte[] b = new byte[2];
        long total = 0;
        for (int code = 0; code < counts.length; code++) {
            if (counts[code] == 0) continue;
            b[0] = (byte) code;
            b[1] = (byte) (code >>> 8);
            double v = ElementDecoder.decodeOne(exactType, b, 0);
            if (!Double.isFinite(v)) continue;
            values[distinct] = v;
            weights[distinct] = counts[code];
            total += counts[code];
            distinct++;
        }
        if (total == 0) {
            Arrays.fill(out, Double.NaN);
            return out;
        }
        Integer[] order = new Integer[distinct];
        for (int i = 0; i < distinct; i++) order[i] = i;
        final double[] vs = values;
        Arrays.sort(order, (x, y) -> Double.compare(vs[x], vs[y]));
        for (int q = 0; q < out.length; q++) {
            double target = probabilities[q] * total;
            long cum = 0;
            double answer = vs[order[distinct - 1]];
            for (int k = 0; k < distinct; k++) {
                cum += weights[order[k]];
                if (cum >= target && cum > 0) {
                    answer = vs[order[k]];
                    break;
                }
            }
            // -0.0 and 0.0 are both zero; report +0.0 like numpy would print.
            out[q] = answer == 0.0 ? 0.0 : answer;
        }
        return out;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
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
