package io.weightlab.common.transform;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;

/**
 * Columns [{@code first}, {@code first + width}) of a row-major [rows, cols] source matrix, times {@code scale}: an
 * expert's share of a dense down projection when upcycling (docs/algorithms.md §6.3). Each output row is one ranged
 * read of its contiguous source segment.
 */
public final class ColumnBlockAction implements TensorAction {
    private final TensorInfo source;
    private final long firstColumn, width;
    private final double scale;
    private transient RangeReader reader;

    public ColumnBlockAction(TensorInfo source, long firstColumn, long width, double scale) {
        if (source.rank() != 2 || firstColumn < 0 || width < 1 || firstColumn + width > source.dim(1)) {
            throw new IllegalArgumentException(source.name() + ": columns [" + firstColumn + ", " + (firstColumn + width) + ") of " + source.shapeString());
        }
        this.source = source;
        this.firstColumn = firstColumn;
        this.width = width;
        this.scale = scale;
    }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override
    public void apply(long first, double[] values, int count) {
        int es = source.dtype().byteSize();
        long cols = source.dim(1);
        int done = 0;
        byte[] buf = new byte[(int) Math.min(width, count) * es];
        while (done < count) {
            long e = first + done, row = e / width, col = e % width;
            int take = (int) Math.min(count - done, width - col);
            long pos = source.dataBegin() + (row * cols + firstColumn + col) * es;
            reader.read(source.file(), pos, buf, 0, take * es);
            ElementDecoder.decode(source.dtype(), buf, 0, take, values, done);
            for (int i = 0; i < take; i++) values[done + i] *= scale;
            done += take;
        }
    }

    @Override
    public String describe() {
        return Samplers.fmt("%s[:, %d:%d] * %s", source.name(), firstColumn, firstColumn + width, scale);
    }
}
