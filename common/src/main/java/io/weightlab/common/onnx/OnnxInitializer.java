package io.weightlab.common.onnx;

import io.weightlab.common.model.DType;

/**
 * One initializer of an ONNX graph and where its bytes are: a range of the model file ({@code raw_data}), a
 * range of an external-data file, or (for the typed repeated fields) little-endian bytes decoded in memory.
 */
public record OnnxInitializer(String name, int onnxType, DType dtype, long[] dims, String file, long offset, long length,
                              byte[] inline) {

    public long elementCount() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** ONNX TensorProto.DataType to safetensors dtype; null when safetensors has no such type. */
    public static DType dtypeOf(int onnxType) {
        return switch (onnxType) {
            case 1 -> DType.F32;
            case 2 -> DType.U8;
            case 3 -> DType.I8;
            case 4 -> DType.U16;
            case 5 -> DType.I16;
            case 6 -> DType.I32;
            case 7 -> DType.I64;
            case 9 -> DType.BOOL;
            case 10 -> DType.F16;
            case 11 -> DType.F64;
            case 12 -> DType.U32;
            case 13 -> DType.U64;
            case 16 -> DType.BF16;
            case 17 -> DType.F8_E4M3;
            case 19 -> DType.F8_E5M2;
            default -> null;
        };
    }
}
