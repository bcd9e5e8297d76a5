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
        ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(8, v.length)).order(ByteOrder.LITTLE_ENDIAN);
        buf.asDoubleBuffer().put(v);
        os.write(buf.array());
    }

    /** Values [first, first + count) of {@code file} into {@code dst[off..]}. */
    public static void read(RangeReader reader, String file, long first, int count, double[] dst, int off) {
        byte[] b = new byte[Math.multiplyExact(8, count)];
        reader.read(file, 8 * first, b, 0, b.length);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(dst, off, count);
    }
}
