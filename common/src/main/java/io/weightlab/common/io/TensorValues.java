package io.weightlab.common.io;

import io.weightlab.common.model.DType;

import io.weightlab.common.model.TensorInfo;

import java.util.Arrays;

/**
 * The values of a range of a tensor's elements as doubles: read through a {@link RangeReader} in bounded pieces
 * (so the raw bytes never double the footprint), decoded exactly and dequantized when the tensor has scales.
 * The one place that turns stored bytes into numbers for jobs that need a slice or a whole matrix in memory.
 */
public final class TensorValues {
    static final int PIECE_BYTES = 8 << 20;

    private TensorValues() {}

    /** Elements {@code [first, end)} of {@code t}, dequantized by {@code dq} when it is not null. */
    public static double[] read(RangeReader r, TensorInfo t, long first, long end, Dequantization dq) {
        if (!t.dtype().isDecodable()) throw new ElementDecoder.UnsupportedDTypeException(t.dtype());
        int n = Math.toIntExact(end - first);
        double[] values = new double[n];
        int size = t.dtype().byteSize();
        int per = Math.max(1, PIECE_BYTES / size);
        byte[] buf = new byte[(int) Math.min((long) per * size, Math.max(size, (long) n * size))];
        long base = t.dataBegin() + t.dtype().byteLength(first);
        for (int e = 0; e < n; e += per) {
            int count = Math.min(per, n - e);
            r.read(t.file(), base + (long) e * size, buf, 0, count * size);
            ElementDecoder.decode(t.dtype(), buf, 0, count, values, e);
        }
        if (dq != null) {
            dq.load(r);
            dq.apply(values, n, first, Math.max(1, t.rowElements()));
        }
        return values;
    }

    /**
     * Elements {@code [first, first + n)} of {@code t} into {@code dst[0..n)}, with no allocation when {@code scratch}
     * (the raw-bytes buffer, reused across calls) is large enough; returns the buffer to pass next time. For loops
     * that read the same positions of many tensors (a federated round's clients) step after step.
     */
    public static byte[] readInto(RangeReader r, TensorInfo t, long first, int n, double[] dst, byte[] scratch) {
        if (!t.dtype().isDecodable()) throw new ElementDecoder.UnsupportedDTypeException(t.dtype());
        int size = t.dtype().byteSize();
        int per = Math.max(1, PIECE_BYTES / size);
        int need = (int) Math.min((long) per * size, Math.max(size, (long) n * size));
        byte[] buf = scratch != null && scratch.length >= need ? scratch : new byte[need];
        per = Math.max(1, buf.length / size);
        long base = t.dataBegin() + t.dtype().byteLength(first);
        for (int e = 0; e < n; e += per) {
            int count = Math.min(per, n - e);
            r.read(t.file(), base + (long) e * size, buf, 0, count * size);
            ElementDecoder.decode(t.dtype(), buf, 0, count, dst, e);
        }
        return buf;
    }

    /** Whether every value of this dtype is a float32 (F32, BF16, F16, the F8s): {@link #readFloat32} takes it. */
    public static boolean exactInFloat32(DType d) {
        return d.isDecodable() && d.isFloatingPoint() && d.byteSize() >= 1 && d.byteSize() <= 4;
    }

    /**
     * All of {@code t}'s elements as float32, exactly, into {@code dst} (off-heap, at least elementCount floats), in
     * bounded pieces: no double copy of the tensor, for jobs whose arithmetic is float32 anyway. Returns the index of
     * the first NaN/Inf, or -1 when all are finite.
     */
    public static long readFloat32(RangeReader r, TensorInfo t, org.bytedeco.javacpp.FloatPointer dst) {
        if (!exactInFloat32(t.dtype())) throw new IllegalArgumentException(t.dtype() + " is not exact in float32");
        long n = t.elementCount();
        int size = t.dtype().byteSize();
        int per = (int) Math.min(n, Math.max(1, PIECE_BYTES / size));
        byte[] buf = new byte[per * size];
        boolean f32 = t.dtype() == DType.F32;
        double[] decoded = f32 ? null : new double[per];
        float[] floats = new float[per];
        long firstBad = -1;
        long pos = dst.position();
        try {
            for (long e = 0; e < n; e += per) {
                int count = (int) Math.min(per, n - e);
                r.read(t.file(), t.dataBegin() + e * size, buf, 0, count * size);
                if (f32) {
                    java.nio.ByteBuffer.wrap(buf, 0, count * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(floats, 0, count);
                } else {
                    ElementDecoder.decode(t.dtype(), buf, 0, count, decoded, 0);
                    for (int i = 0; i < count; i++) floats[i] = (float) decoded[i];
                }
                if (firstBad < 0) {
                    // an all-ones exponent (NaN/±Inf) carries into the sign bit: one branch-free OR pass, the search only on a hit
                    int probe = 0;
                    for (int i = 0; i < count; i++) probe |= (Float.floatToRawIntBits(floats[i]) & 0x7f800000) + 0x00800000;
                    if (probe < 0) {
                        for (int i = 0; i < count; i++) {
                            if (!Float.isFinite(floats[i])) {
                                firstBad = e + i;
                                break;
                            }
                        }
                    }
                }
                dst.position(pos + e).put(floats, 0, count);
            }
        } finally {
            dst.position(pos);
        }
        return firstBad;
    }

    /** The finite values only (the same array when all are finite). */
    public static double[] finite(double[] values) {
        int k = 0;
        for (double x : values) if (Double.isFinite(x)) values[k++] = x;
        return k == values.length ? values : Arrays.copyOf(values, k);
    }
}
