package io.weightlab.common.transform;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;

/**
 * A grown tensor: the source (if any) in its leading block, every other element drawn from {@code fill} (null:
 * zero), element e from the stream of (seed, tensor, block) as every draw here. With zeros on the output side of
 * new units (down-projection columns, o_proj of new layers) growth keeps the model's function (docs/algorithms.md §6).
 */
public final class EmbedAction implements TensorAction {
    private final TensorInfo source;
    private final long[] out;
    private final Sampler fill;
    private final double constant;
    private final long seed;
    private final String tensor;
    private transient RangeReader reader;

    /** @param source null for a new tensor; {@code fill} null means {@code constant} everywhere outside the source */
    public EmbedAction(TensorInfo source, long[] outShape, Sampler fill, double constant, long seed, String tensor) {
        if (source != null) {
            long[] in = source.shape();
            if (in.length != outShape.length) throw new IllegalArgumentException(tensor + ": rank " + in.length + " vs " + outShape.length);
            for (int k = 0; k < in.length; k++) if (in[k] > outShape[k]) throw new IllegalArgumentException(tensor + ": cannot shrink dimension " + k);
            if (in.length > 2) throw new IllegalArgumentException(tensor + ": growth of rank > 2 tensors");
        }
        this.source = source;
        this.out = outShape.clone();
        this.fill = fill;
        this.constant = constant;
        this.seed = seed;
        this.tensor = tensor;
    }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override
    public void apply(long first, double[] values, int count) {
        if (fill != null) new DrawnAction(seed, tensor, fill).apply(first, values, count);
        else java.util.Arrays.fill(values, 0, count, constant);
        if (source == null) return;
        long cols = out.length == 2 ? out[1] : out[0];
        long srcRows = out.length == 2 ? source.dim(0) : 1, srcCols = out.length == 2 ? source.dim(1) : source.dim(0);
        int es = source.dtype().byteSize();
        byte[] buf = new byte[(int) Math.min(srcCols, count) * es];
        int done = 0;
        while (done < count) {
            long e = first + done, row = e / cols, col = e % cols;
            int take = (int) Math.min(count - done, cols - col);
            if (row < srcRows && col < srcCols) {
                int n = (int) Math.min(take, srcCols - col);
                reader.read(source.file(), source.dataBegin() + (row * srcCols + col) * es, buf, 0, n * es);
                ElementDecoder.decode(source.dtype(), buf, 0, n, values, done);
            }
            done += take;
        }
    }

    @Override
    public String describe() {
        String rest = fill != null ? fill.describe() : constant == 0 ? "zeros" : "constant " + constant;
        return (source == null ? "new tensor: " : source.name() + " " + source.shapeString() + " in the leading block, the rest: ") + rest;
    }
}
