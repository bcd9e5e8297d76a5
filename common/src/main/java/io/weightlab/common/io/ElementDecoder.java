package io.weightlab.common.io;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.model.DType;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Exact decoding of little-endian safetensors elements to double. BF16, F16 and both FP8 formats are decoded
 * bit-exactly (every value of those formats is representable as a double); 64-bit integers beyond 2^53 round.
 */
public final class ElementDecoder {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static final float[] F16_TABLE = new float[1 << 16];
    private static final float[] E4M3_TABLE = new float[256];
    private static final float[] E5M2_TABLE = new float[256];

    static {
        for (int i = 0; i < (1 << 16); i++) F16_TABLE[i] = halfToFloat(i);
        for (int i = 0; i < 256; i++) {
            E4M3_TABLE[i] = e4m3ToFloat(i);
            E5M2_TABLE[i] = e5m2ToFloat(i);
        }
    }

    private ElementDecoder() {}

    /** IEEE 754 binary16 to float (exact): the same as Java 20's Float.float16ToFloat. */
    static float halfToFloat(int h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        float v;
        if (exp == 0) {
            v = mant * 0x1p-24f; // subnormal: mant * 2^-14 * 2^-10
        } else if (exp == 0x1f) {
            v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            v = Float.intBitsToFloat(((exp - 15 + 127) << 23) | (mant << 13));
        }
        return sign == 1 ? -v : v;
    }

    /** OCP FP8 E4M3 (the "fn" variant torch and safetensors use): bias 7, no infinities, S.1111.111 is NaN. */
    static float e4m3ToFloat(int b) {
        int sign = (b >>> 7) & 1;
        int exp = (b >>> 3) & 0xf;
        int mant = b & 0x7;
        float v;
        if (exp == 0xf && mant == 0x7) {
            v = Float.NaN;
        } else if (exp == 0) {
            v = mant * 0x1p-9f; // mant/8 * 2^-6
        } else {
            v = (1f + mant / 8f) * (float) Math.scalb(1.0, exp - 7);
        }
        return sign == 1 ? -v : v;
    }

    /** OCP FP8 E5M2: bias 15, IEEE-style infinities and NaNs. */
    static float e5m2ToFloat(int b) {
        return halfToFloat(b << 8); // E5M2 is the top byte of a binary16
    }

    /**
     * Decodes {@code count} elements of {@code type} starting at byte {@code offset} of {@code src} into
     * {@code dst[dstOffset..]}.
     */
    public static void decode(DType type, byte[] src, int offset, int count, double[] dst, int dstOffset) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = Float.intBitsToFloat((int) INT.get(src, offset + 4 * i));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    int bits = ((short) SHORT.get(src, offset + 2 * i)) & 0xffff;
                    dst[dstOffset + i] = Float.intBitsToFloat(bits << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = F16_TABLE[((short) SHORT.get(src, offset + 2 * i)) & 0xffff];
            }
            case F64 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = Double.longBitsToDouble((long) LONG.get(src, offset + 8 * i));
            }
            case F8_E4M3 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = E4M3_TABLE[src[offset + i] & 0xff];
            }
            case F8_E5M2 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = E5M2_TABLE[src[offset + i] & 0xff];
            }
            case I8 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = src[offset + i];
            }
            case U8 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = src[offset + i] & 0xff;
            }
            case BOOL -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = src[offset + i] != 0 ? 1.0 : 0.0;
            }
            case I16 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = (short) SHORT.get(src, offset + 2 * i);
            }
            case U16 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = ((short) SHORT.get(src, offset + 2 * i)) & 0xffff;
            }
            case I32 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = (int) INT.get(src, offset + 4 * i);
            }
            case U32 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = ((int) INT.get(src, offset + 4 * i)) & 0xffffffffL;
            }
            case I64 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = (long) LONG.get(src, offset + 8 * i);
            }
            case U64 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = unsignedToDouble((long) LONG.get(src, offset + 8 * i));
            }
            default -> throw new UnsupportedDTypeException(type);
        }
    }

    private static double unsignedToDouble(long v) {
        double d = (double) (v >>> 1) * 2.0;
        return d + (v & 1L);
    }

    /** Decodes one element; for tests and small side tensors. */
    public static double decodeOne(DType type, byte[] src, int offset) {
        double[] out = new double[1];
        decode(type, src, offset, 1, out, 0);
        return out[0];
    }

    /** Raised for a dtype the reader can validate but not turn into numbers (F4, F6, F8_E8M0, complex). */
    public static final class UnsupportedDTypeException extends WeightLabException {
        public UnsupportedDTypeException(DType type) {
            super("dtype " + type + " cannot be decoded to numbers by this version of WeightLab");
        }

        @Override
        public int exitCode() { return 2; }
    }
}
