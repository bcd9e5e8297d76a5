package io.weightlab.common.transform;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A tensor of a wider model built from the source by index maps (lossless width growth, docs/algorithms.md §24.1):
 * output position p of an axis reads source index {@code map[p]} or, when that is −1, is a free value
 * {@code constant + std·z}. On a split axis (a reader's input side) the k copies of one source index share its
 * weight: each gets {@code W/k + noise·(z − mean of z over the copies)}, so the copies sum to W exactly (up to
 * rounding) yet differ, which is what lets training break the symmetry. z is a standard normal keyed by
 * (seed, tensor name, element index), so any slicing gives the same values.
 */
public final class WidthExpandAction implements TensorAction {
    /** One axis: the source index of each output position (−1: free), whether copies split their weight, the free values. */
    public record Axis(int[] map, boolean split, double freeConstant, double freeStd) implements Serializable {
        public int size() { return map.length; }

        /** Output positions grouped by their source index (the copies of each source index). */
        int[][] copies(int sourceSize) {
            List<List<Integer>> g = new ArrayList<>();
            for (int i = 0; i < sourceSize; i++) g.add(new ArrayList<>());
            for (int p = 0; p < map.length; p++) if (map[p] >= 0) g.get(map[p]).add(p);
            int[][] out = new int[sourceSize][];
            for (int i = 0; i < sourceSize; i++) out[i] = g.get(i).stream().mapToInt(Integer::intValue).toArray();
            return out;
        }
    }

    private final TensorInfo source;
    private final Axis rows, cols;
    private final double scale, splitNoise;
    private final long seed;
    private final String tensor;
    private final long nameHash;
    private transient RangeReader reader;
    private transient int[][] colCopies;
    private transient long cachedRow = -1;
    private transient double[] rowValues;

    /**
     * @param rows       null for a vector (rank 1); then {@code cols} is its only axis
     * @param scale      factor on every value read from the source (RMSNorm gains: √s)
     * @param splitNoise std of the zero-sum perturbation of split copies (0: equal shares, Net2Net)
     */
    public WidthExpandAction(TensorInfo source, Axis rows, Axis cols, double scale, double splitNoise, long seed, String tensor) {
        long[] in = source.shape();
        if (in.length != (rows == null ? 1 : 2)) throw new IllegalArgumentException(tensor + ": rank " + in.length + " does not match the maps");
        checkMap(tensor, cols, in[in.length - 1]);
        if (rows != null) {
            checkMap(tensor, rows, in[0]);
            if (rows.split()) throw new IllegalArgumentException(tensor + ": only the input (column) axis is split");
        }
        this.source = source;
        this.rows = rows;
        this.cols = cols;
        this.scale = scale;
        this.splitNoise = splitNoise;
        this.seed = seed;
        this.tensor = tensor;
        long h = 0xcbf29ce484222325L; // FNV-1a, as TensorRandom
        for (byte b : tensor.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        this.nameHash = TensorRandom.mix(TensorRandom.mix(seed ^ 0x9E3779B97F4A7C15L) ^ h);
    }

    private static void checkMap(String tensor, Axis a, long sourceSize) {
        for (int m : a.map()) if (m >= sourceSize) throw new IllegalArgumentException(tensor + ": map index " + m + " outside the source's " + sourceSize);
    }

    public long[] shape() {
        return rows == null ? new long[] {cols.size()} : new long[] {rows.size(), cols.size()};
    }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override
    public void release() {
        rowValues = null;
        colCopies = null;
        cachedRow = -1;
    }

    /** A standard normal that depends only on (seed, tensor name, element index): Box–Muller on two hashed uniforms. */
    double normal(long element) {
        long a = TensorRandom.mix(nameHash ^ TensorRandom.mix(element + 0x632BE59BD9B4E019L));
        long b = TensorRandom.mix(a ^ 0xD1B54A32D192ED03L);
        double u1 = ((a >>> 11) + 1) * 0x1.0p-53, u2 = (b >>> 11) * 0x1.0p-53;
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    @Override
    public void apply(long first, double[] values, int count) {
        int nCols = cols.size();
        long srcCols = source.dim(source.rank() - 1);
        if (colCopies == null) colCopies = cols.copies((int) srcCols);
        for (int i = 0; i < count; i++) {
            long e = first + i;
            int r = (int) (e / nCols), c = (int) (e % nCols);
            int sr = rows == null ? 0 : rows.map()[r];
            if (sr < 0) {
                values[i] = rows.freeConstant() + (rows.freeStd() > 0 ? rows.freeStd() * normal(e) : 0);
                continue;
            }
            int sc = cols.map()[c];
            if (sc < 0) {
                values[i] = cols.freeConstant() + (cols.freeStd() > 0 ? cols.freeStd() * normal(e) : 0);
                continue;
            }
            double w = scale * sourceRow(sr, srcCols)[sc];
            int[] copies = colCopies[sc];
            if (cols.split() && copies.length > 1) {
                w /= copies.length;
                if (splitNoise > 0) {
                    double mean = 0;
                    long rowStart = (long) r * nCols;
                    for (int q : copies) mean += normal(rowStart + q);
                    w += splitNoise * (normal(e) - mean / copies.length);
                }
            }
            values[i] = w;
        }
    }

    /** Source row {@code sr} decoded, kept until the next row is needed (rows are visited in order). */
    private double[] sourceRow(int sr, long srcCols) {
        if (rowValues == null || sr != cachedRow) { // transient fields come back zeroed after deserialisation
            int es = source.dtype().byteSize();
            byte[] buf = new byte[(int) srcCols * es];
            reader.read(source.file(), source.dataBegin() + (long) sr * srcCols * es, buf, 0, buf.length);
            if (rowValues == null) rowValues = new double[(int) srcCols];
            ElementDecoder.decode(source.dtype(), buf, 0, (int) srcCols, rowValues, 0);
            cachedRow = sr;
        }
        return rowValues;
    }

    @Override
    public String describe() {
        return source.name() + " " + source.shapeString() + " expanded to " + java.util.Arrays.toString(shape())
                + (scale != 1 ? String.format(" ×%.6g", scale) : "")
                + (cols.split() ? String.format(", copies split W/k + %.3g·(z − mean z)", splitNoise) : "");
    }
}
