package io.weightlab.common.vocab;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.TensorAction;

import java.util.List;

/**
 * A token-row matrix (input embedding or untied head) grown by rows: rows [0, n) are the source's, decoded and
 * written back in the same dtype (the same bytes: decoding is exact), rows [n, n + k) are the new tokens' from the
 * method's filler, and the rest, up to the padded size, the padding filler's. New rows are made a batch at a time
 * (one dgemm for gaussian) and kept while the slice walks through them.
 */
public final class VocabRowsAction implements TensorAction {
    private static final long serialVersionUID = 1L;
    /** New rows made together; their values do not depend on the batch (each row has its own stream). */
    static final int BATCH = 256;

    private final TensorInfo source;
    private final int d;
    private final long oldRows;
    private final List<VocabInit.NewRow> added;
    private final long totalRows;
    private final VocabInit.RowFiller filler;
    private final VocabInit.RowFiller padding;
    private transient RangeReader reader;
    private transient long batchStart = -1;
    private transient double[] batch;

    public VocabRowsAction(TensorInfo source, List<VocabInit.NewRow> added, long totalRows, VocabInit.RowFiller filler, VocabInit.RowFiller padding) {
        if (source.rank() != 2) throw new IllegalArgumentException(source.name() + ": a token-row matrix is 2-D");
        this.source = source;
        this.d = Math.toIntExact(source.dim(1));
        this.oldRows = source.dim(0);
        this.added = List.copyOf(added);
        this.totalRows = totalRows;
        this.filler = filler;
        this.padding = padding;
        if (totalRows < oldRows + added.size()) throw new IllegalArgumentException(source.name() + ": " + totalRows + " rows cannot hold the new ones");
        if (totalRows > oldRows + added.size() && padding == null) throw new IllegalArgumentException(source.name() + ": padding rows need a filler");
    }

    public long[] outShape() { return new long[] {totalRows, d}; }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override
    public void apply(long first, double[] values, int count) {
        int es = source.dtype().byteSize();
        int done = 0;
        while (done < count) {
            long e = first + done, row = e / d;
            int col = (int) (e % d);
            int take = (int) Math.min(count - done, (long) d - col);
            if (row < oldRows) {
                // as many whole source rows as the range covers, in one read
                long lastRow = Math.min(oldRows, (first + count - 1) / d + 1);
                long end = Math.min(first + count, lastRow * d);
                int n = (int) (end - e);
                byte[] buf = new byte[Math.multiplyExact(n, es)];
                reader.read(source.file(), source.dataBegin() + e * es, buf, 0, buf.length);
                ElementDecoder.decode(source.dtype(), buf, 0, n, values, done);
                done += n;
                continue;
            }
            long b = oldRows + (row - oldRows) / BATCH * BATCH;
            if (b != batchStart) makeBatch(b);
            System.arraycopy(batch, (int) ((row - b) * d + col), values, done, take);
            done += take;
        }
    }

    private void makeBatch(long start) {
        int m = (int) Math.min(BATCH, totalRows - start);
        batch = new double[Math.multiplyExact(m, d)];
        int newEnd = (int) Math.max(0, Math.min(m, oldRows + added.size() - start));
        VocabInit.RowSource rows = (index, out, offset) -> {
            if (index < 0 || index >= oldRows) throw new IllegalArgumentException(source.name() + ": piece row " + index + " is not an existing row");
            byte[] buf = new byte[d * es()];
            reader.read(source.file(), source.dataBegin() + (long) index * d * es(), buf, 0, buf.length);
            ElementDecoder.decode(source.dtype(), buf, 0, d, out, offset);
        };
        if (newEnd > 0) {
            int from = (int) (start - oldRows);
            filler.fill(added.subList(from, from + newEnd), d, rows, batch);
        }
        if (newEnd < m) {
            double[] pad = new double[(m - newEnd) * d];
            List<VocabInit.NewRow> padRows = java.util.Collections.nCopies(m - newEnd, new VocabInit.NewRow("<pad>", null));
            padding.fill(padRows, d, rows, pad);
            System.arraycopy(pad, 0, batch, newEnd * d, pad.length);
        }
        batchStart = start;
    }

    private int es() { return source.dtype().byteSize(); }

    @Override
    public void release() {
        batch = null;
        batchStart = -1;
    }

    @Override
    public String describe() {
        long pad = totalRows - oldRows - added.size();
        return source.name() + " " + source.shapeString() + ": rows kept, " + added.size() + " new rows by " + filler.describe()
                + (pad > 0 ? ", " + pad + " padding rows: " + padding.describe() : "");
    }
}
