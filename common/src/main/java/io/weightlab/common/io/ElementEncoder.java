package io.weightlab.common.io;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.model.DType;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Doubles back to stored bytes, the way torch casts: a double goes to float32 first (round to nearest even),
 * then to BF16 or F16 with round to nearest even ({@code c10::BFloat16(float)}, {@code fp16_ieee_from_fp32_value}).
 * Only the floating types a transformed weight is written in; anything else must be asked for with --out-dtype.
 */
public final class ElementEncoder {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private ElementEncoder() {}

    public static boolean canEncode(DType t) {
        return t == DType.F64 || t == DType.F32 || t == DType.BF16 || t == DType.F16;
    }

    /** Encodes {@code count} values from {@code src[srcOffset..]} into {@code dst} at byte {@code offset}. */
    public static void encode(DType type, double[] src, int srcOffset, int count, byte[] dst, int offset) {
        switch (type) {
            case F64 -> {
                for (int i = 0; i < count; i++) LONG.set(dst, offset + 8 * i, Double.doubleToRawLongBits(src[srcOffset + i]));
            }
            case F32 -> {
                for (int i = 0; i < count; i++) INT.set(dst, offset + 4 * i, Float.floatToRawIntBits((float) src[srcOffset + i]));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) SHORT.set(dst, offset + 2 * i, floatToBf16((float) src[srcOffset + i]));
            }
            case F16 -> {
                for (int i = 0; i < count; i++) SHORT.set(dst, offset + 2 * i, floatToHalf((float) src[srcOffset + i]));
            }
            default -> throw new WeightLabException("cannot write values as " + type + "; choose --out-dtype F32, BF16, F16 or F64");
        }
    }

    /** fp32 → bf16 with round to nearest even; every NaN becomes torch's canonical 0x7FC0. */
    public static short floatToBf16(float f) {
        if (Float.isNaN(f)) return (short) 0x7FC0;
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** fp32 → IEEE binary16 with round to nearest even (subnormals, overflow to infinity, NaN → ±0x7E00). */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            // Inf stays Inf; every NaN becomes the canonical quiet NaN with its sign, as torch's fp16 conversion does.
            return (short) (sign | (abs > 0x7F800000 ? 0x7E00 : 0x7C00));
        }
        if (abs >= 0x477FF000) return (short) (sign | 0x7C00); // rounds past 65504
        int exp = abs >>> 23;
        if (exp < 113) {
            // Result is subnormal (or zero): shift the full significand into place, rounding to nearest even.
            if (exp < 102) return (short) sign; // below half of the smallest subnormal
            int mant = (abs & 0x7FFFFF) | 0x800000;
            int shift = 126 - exp; // 14..24
            int half = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) half++;
            return (short) (sign | half);
        }
        int h = ((exp - 112) << 10) | ((abs >>> 13) & 0x3FF);
        int rem = abs & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++; // a carry into the exponent is correct rounding
        return (short) (sign | h);
    }
}
