package io.weightlab.common.transform;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;

/**
 * A tensor gathered from a larger one, dimension by dimension: output element (o_0, …, o_n) is source element
 * (idx_k[o_k])_k, times {@code scale}. Weight selection ("Initializing Models with Larger Ones", docs/algorithms.md §6.4)
 * uses idx_k[o] = ⌊o·D_k/S_k⌋: the reference code's uniform stride arange(S)·(D/S) when S divides D, and never the
 * out-of-range index its round(linspace(0, D, S)) can produce otherwise. Subcloning (§6.5) passes importance
 * rankings. A null index array is that dimension's ⌊o·D/S⌋ rule. Each output row reads its one source row (the
 * last dimension) with a ranged read.
 */
public final class StridedSelectionAction implements TensorAction {
    private final TensorInfo source;
    private final long[] out;
    private final long[][] indices;
    private final double scale;
    private transient RangeReader reader;

    public StridedSelectionAction(TensorInfo source, long[] outShape) {
        this(source, outShape, new long[outShape.length][], 1.0);
    }

    public StridedSelectionAction(TensorInfo source, long[] outShape, long[][] indices, double scale) {
        long[] in = source.shape();
        if (in.length != outShape.length) throw new IllegalArgumentException(source.name() + ": rank " + in.length + " vs " + outShape.length);
        for (int k = 0; k < in.length; k++) {
            if (outShape[k] < 1 || outShape[k] > in[k]) throw new IllegalArgumentException(source.name() + ": dimension " + k + " of " + outShape[k] + " from " + in[k]);
        }
        for (int k = 0; k < in.length; k++) {
            if (indices[k] == null) continue;
            if (indices[k].length != outShape[k]) throw new IllegalArgumentException(source.name() + ": " + indices[k].length + " indices for dimension " + k + " of " + outShape[k]);
            for (long i : indices[k]) if (i < 0 || i >= in[k]) throw new IllegalArgumentException(source.name() + ": index " + i + " outside dimension " + k + " of " + in[k]);
        }
        this.source = source;
        this.out = outShape.clone();
        this.indices = indices.clone();
        this.scale = scale;
    }

    private long map(int k, long o, long[] in) {
        return indices[k] != null ? indices[k][(int) o] : index(o, in[k], out[k]);
    }

    /** ⌊o·d/s⌋: the source index of output index {@code o} along a dimension of source size d and output size s (both < 2^31). */
    public static long index(long o, long d, long s) {
        return o * d / s;
    }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override
    public void apply(long first, double[] values, int count) {
        long[] in = source.shape();
        int n = in.length;
        long lastIn = n == 0 ? 1 : in[n - 1], lastOut = n == 0 ? 1 : out[n - 1];
        int es = source.dtype().byteSize();
        byte[] buf = new byte[(int) (lastIn * es)];
        double[] row = new double[(int) lastIn];
        long cached = -1;
        long[] idx = new long[Math.max(0, n - 1)];
        int done = 0;
        while (done < count) {
            long e = first + done, outRow = e / lastOut, col = e % lastOut;
            // source row: leading output indices mapped dimension by dimension
            long srcRow = 0, rest = outRow;
            for (int k = n - 2; k >= 0; k--) {
                idx[k] = rest % out[k];
                rest /= out[k];
            }
            for (int k = 0; k < n - 1; k++) srcRow = srcRow * in[k] + map(k, idx[k], in);
            if (srcRow != cached) {
                reader.read(source.file(), source.dataBegin() + srcRow * lastIn * es, buf, 0, buf.length);
                ElementDecoder.decode(source.dtype(), buf, 0, (int) lastIn, row, 0);
                cached = srcRow;
            }
            int take = (int) Math.min(count - done, lastOut - col);
            for (int i = 0; i < take; i++) values[done + i] = scale * row[(int) (n == 0 ? 0 : map(n - 1, col + i, in))];
            done += take;
        }
    }

    @Override
    public String describe() {
        return "selection of " + source.name() + " " + source.shapeString() + " -> " + java.util.Arrays.toString(out)
                + (scale != 1 ? " x " + scale : "");
    }
}
