package io.weightlab.common.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Scratch files of raw little-endian float64 between two passes of a job (EVA's components, a round's computed
 * slices): written once by one task, read by range by others. Never committed, so no header is needed.
 */
public final class RawDoubles {
    private RawDoubles() {}

    public static void write(OutputStream os, double[] v) throws IOException {
        // in pieces of at most 1 MiB: no byte copy the size of the whole slice
        int per = Math.min(v.length, 1 << 17);
        ByteBuffer buf = ByteBuffer.allocate(8 * Math.max(per, 1)).order(ByteOrder.LITTLE_ENDIAN);
        for (int off = 0; off < v.length; off += per) {
            int n = Math.min(per, v.length - off);
            buf.clear();
            buf.asDoubleBuffer().put(v, off, n);
            os.write(buf.array(), 0, 8 * n);
        }
    }

    /** Values [first, first + count) of {@code file} into {@code dst[off..]}. */
    public static void read(RangeReader reader, String file, long first, int count, double[] dst, int off) {
        byte[] b = new byte[Math.multiplyExact(8, count)];
        reader.read(file, 8 * first, b, 0, b.length);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(dst, off, count);
    }
}
