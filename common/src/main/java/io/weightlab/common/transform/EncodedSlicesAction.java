package io.weightlab.common.transform;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.DType;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A tensor whose values an earlier stage computed slice by slice and already encoded in the output dtype, one file
 * per slice (file i holds elements [firsts[i], firsts[i] + counts[i]) as stored bytes). The shard writer copies
 * those bytes ({@link TransformedShardWriter}); {@link #apply} decodes them, for a writer asked for another dtype.
 * Why: a federated round without a correction or server step wrote its aggregate as float64 and read it back to
 * encode it, twice the bytes and a decode plus an encode more for the same output.
 */
public final class EncodedSlicesAction implements TensorAction {
    private static final long serialVersionUID = 1L;
    /** Values encoded per write: a few MiB of bytes whatever the slice's size. */
    private static final int ENCODE_PIECE = 1 << 17;

    private final DType encodedAs;
    private final String[] files;
    private final long[] firsts;
    private final int[] counts;
    private final String what;
    private transient RangeReader reader;

    public EncodedSlicesAction(DType encodedAs, String[] files, long[] firsts, int[] counts, String what) {
        this.encodedAs = encodedAs;
        this.files = files.clone();
        this.firsts = firsts.clone();
        this.counts = counts.clone();
        this.what = what;
    }

    /** Writes {@code values} encoded as {@code dtype} (round to nearest even, as the shard writer encodes). */
    public static void write(OutputStream os, DType dtype, double[] values) throws IOException {
        int per = Math.min(values.length, ENCODE_PIECE);
        byte[] buf = new byte[dtype.byteSize() * Math.max(per, 1)];
        for (int off = 0; off < values.length; off += per) {
            int n = Math.min(per, values.length - off);
            ElementEncoder.encode(dtype, values, off, n, buf, 0);
            os.write(buf, 0, n * dtype.byteSize());
        }
    }

    /** The dtype the slices hold. */
    public DType encodedAs() { return encodedAs; }

    /** Copies every slice's bytes, in element order, to {@code out} (the writer's stream for this tensor). */
    void transferTo(RangeReader r, io.weightlab.common.io.SafetensorsWriter out) throws IOException {
        for (int i = 0; i < files.length; i++) out.transfer(r, files[i], 0, encodedAs.byteLength(counts[i]));
    }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override public void release() { this.reader = null; }

    @Override
    public void apply(long first, double[] values, int count) {
        long end = first + count;
        int size = encodedAs.byteSize();
        for (int i = 0; i < files.length; i++) {
            long lo = Math.max(first, firsts[i]), hi = Math.min(end, firsts[i] + counts[i]);
            if (lo >= hi) continue;
            byte[] b = new byte[Math.multiplyExact(size, (int) (hi - lo))];
            reader.read(files[i], (lo - firsts[i]) * size, b, 0, b.length);
            ElementDecoder.decode(encodedAs, b, 0, (int) (hi - lo), values, (int) (lo - first));
        }
    }

    @Override
    public String describe() {
        return what;
    }
}
