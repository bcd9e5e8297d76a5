package io.weightlab.common.model;

/**
 * Safetensors element types. The declaration order is the reference implementation's enum order, which its
 * writer uses (descending) to lay tensors out in the data buffer; our writer follows it for byte-identical files.
 */
public enum DType {
    BOOL(8, Kind.BOOL),
    F4(4, Kind.UNSUPPORTED),
    F6_E2M3(6, Kind.UNSUPPORTED),
    F6_E3M2(6, Kind.UNSUPPORTED),
    U8(8, Kind.UNSIGNED),
    I8(8, Kind.SIGNED),
    F8_E5M2(8, Kind.FLOAT),
    F8_E4M3(8, Kind.FLOAT),
    F8_E8M0(8, Kind.UNSUPPORTED),
    F8_E4M3FNUZ(8, Kind.UNSUPPORTED),
    F8_E5M2FNUZ(8, Kind.UNSUPPORTED),
    I16(16, Kind.SIGNED),
    U16(16, Kind.UNSIGNED),
    F16(16, Kind.FLOAT),
    BF16(16, Kind.FLOAT),
    I32(32, Kind.SIGNED),
    U32(32, Kind.UNSIGNED),
    F32(32, Kind.FLOAT),
    C64(64, Kind.UNSUPPORTED),
    F64(64, Kind.FLOAT),
    I64(64, Kind.SIGNED),
    U64(64, Kind.UNSIGNED);

    public enum Kind { BOOL, SIGNED, UNSIGNED, FLOAT, UNSUPPORTED }

    private final int bits;
    private final Kind kind;

    DType(int bits, Kind kind) {
        this.bits = bits;
        this.kind = kind;
    }

    public int bits() { return bits; }

    /** Bytes per element; only meaningful for byte-aligned types. */
    public int byteSize() { return bits / 8; }

    public Kind kind() { return kind; }

    public boolean isFloatingPoint() { return kind == Kind.FLOAT; }

    public boolean isInteger() { return kind == Kind.SIGNED || kind == Kind.UNSIGNED; }

    /** Whether {@link ElementDecoder} can turn this type into doubles. */
    public boolean isDecodable() { return kind != Kind.UNSUPPORTED; }

    /** Parses a header dtype string; returns null when the name is unknown. */
    public static DType parse(String name) {
        if (name == null) return null;
        for (DType d : values()) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }

    /**
     * Byte length of {@code elements} elements, or -1 on overflow or for a sub-byte total that is not a whole
     * number of bytes (the reference's ValidationOverflow / MisalignedSlice).
     */
    public long byteLength(long elements) {
        if (elements < 0) return -1;
        long totalBits;
        try {
            totalBits = Math.multiplyExact(elements, (long) bits);
        } catch (ArithmeticException e) {
            return -1;
        }
        if (totalBits % 8 != 0) return -1;
        return totalBits / 8;
    }
}
