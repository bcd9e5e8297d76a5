package io.weightlab.common.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.model.DType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Walks an ONNX ModelProto with protobuf's own wire-format reader, keeping the graph's nodes and the
 * initializers' metadata but not their bytes: {@code raw_data} is skipped and remembered as a file range, so a
 * model of any size is scanned in small, constant memory. Field numbers are those of onnx/onnx.proto.
 */
public final class OnnxModelScanner {
    /** Typed (non-raw) tensor payloads are decoded in memory; exporters use them only for small tensors. */
    static final long MAX_INLINE_BYTES = 64L << 20;

    private final String file;
    private final List<OnnxInitializer> initializers = new ArrayList<>();
    private final List<OnnxNode> nodes = new ArrayList<>();
    private long irVersion;
    private String producer = "";
    private final Map<String, Long> opsets = new LinkedHashMap<>();

    private OnnxModelScanner(String file) {
        this.file = file;
    }

    /** Scans {@code in}, which holds the whole model file {@code file} of {@code fileLength} bytes. */
    public static OnnxModelScanner scan(String file, InputStream in, long fileLength) {
        OnnxModelScanner s = new OnnxModelScanner(file);
        try {
            CodedInputStream cin = CodedInputStream.newInstance(in, 1 << 16);
            cin.setSizeLimit(Integer.MAX_VALUE);
            s.model(cin, fileLength);
        } catch (CheckpointFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CheckpointFormatException(file, null, "InvalidOnnx",
                    "not a readable ONNX ModelProto: " + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
        return s;
    }

    private void model(CodedInputStream in, long fileLength) throws IOException {
        boolean sawGraph = false;
        while (true) {
            int tag = in.readTag();
            if (tag == 0) break;
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> irVersion = in.readInt64();
                case 2 -> producer = in.readString();
                case 7 -> {
                    int limit = pushMessage(in, fileLength);
                    graph(in, fileLength);
                    in.popLimit(limit);
                    sawGraph = true;
                }
                case 8 -> {
                    int limit = pushMessage(in, fileLength);
                    String domain = "";
                    long version = 0;
                    while (true) {
                        int t = in.readTag();
                        if (t == 0) break;
                        switch (WireFormat.getTagFieldNumber(t)) {
                            case 1 -> domain = in.readString();
                            case 2 -> version = in.readInt64();
                            default -> in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                    opsets.put(domain.isEmpty() ? "ai.onnx" : domain, version);
                }
                default -> in.skipField(tag);
            }
        }
        if (!sawGraph) throw new CheckpointFormatException(file, null, "InvalidOnnx", "the model has no graph");
    }

    private int pushMessage(CodedInputStream in, long fileLength) throws IOException {
        int len = in.readRawVarint32();
        if (len < 0 || in.getTotalBytesRead() + (long) len > fileLength) {
            throw new CheckpointFormatException(file, null, "InvalidOnnx", "a message of " + len + " bytes runs past the end of the file");
        }
        return in.pushLimit(len);
    }

    private void graph(CodedInputStream in, long fileLength) throws IOException {
        while (true) {
            int tag = in.readTag();
            if (tag == 0) break;
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> {
                    int limit = pushMessage(in, fileLength);
                    nodes.add(node(in, fileLength));
                    in.popLimit(limit);
                }
                case 5 -> {
                    int limit = pushMessage(in, fileLength);
                    initializers.add(tensor(in, fileLength));
                    in.popLimit(limit);
                }
                case 15 -> throw new CheckpointFormatException(file, null, "UnsupportedOnnx", "sparse initializers are not supported");
                default -> in.skipField(tag);
            }
        }
    }

    private OnnxNode node(CodedInputStream in, long fileLength) throws IOException {
        List<String> inputs = new ArrayList<>();
        String name = "", op = "";
        Map<String, Long> attrs = new HashMap<>();
        while (true) {
            int tag = in.readTag();
            if (tag == 0) break;
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> inputs.add(in.readString());
                case 3 -> name = in.readString();
                case 4 -> op = in.readString();
                case 5 -> {
                    int limit = pushMessage(in, fileLength);
                    String an = null;
                    Long iv = null;
                    while (true) {
                        int t = in.readTag();
                        if (t == 0) break;
                        switch (WireFormat.getTagFieldNumber(t)) {
                            case 1 -> an = in.readString();
                            case 3 -> iv = in.readInt64();
                            default -> in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                    if (an != null && iv != null) attrs.put(an, iv);
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxNode(name, op, List.copyOf(inputs), Map.copyOf(attrs));
    }

    private OnnxInitializer tensor(CodedInputStream in, long fileLength) throws IOException {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        long rawOffset = -1, rawLength = 0;
        ByteArrayOutputStream typed = null;
        int typedField = 0;
        Map<String, String> external = new HashMap<>();
        long location = 0;
        while (true) {
            int tag = in.readTag();
            if (tag == 0) break;
            int field = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            switch (field) {
                case 1 -> {
                    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int limit = pushMessage(in, fileLength);
                        while (in.getBytesUntilLimit() > 0) dims.add(in.readInt64());
                        in.popLimit(limit);
                    } else {
                        dims.add(in.readInt64());
                    }
                    if (dims.size() > 64) throw new CheckpointFormatException(file, name, "InvalidOnnx", "more than 64 dimensions");
                }
                case 2 -> dataType = in.readInt32();
                case 3 -> throw new CheckpointFormatException(file, name, "UnsupportedOnnx", "segmented tensors are not supported");
                case 4, 5, 7, 10, 11 -> {
                    if (typed == null) typed = new ByteArrayOutputStream();
                    typedField = field;
                    readTyped(in, field, wire, typed, fileLength, name);
                }
                case 6 -> throw new CheckpointFormatException(file, name, "UnsupportedOnnx", "string tensors have no safetensors dtype");
                case 8 -> name = in.readString();
                case 9 -> {
                    int len = in.readRawVarint32();
                    long pos = in.getTotalBytesRead();
                    if (len < 0 || pos + len > fileLength) {
                        throw new CheckpointFormatException(file, name, "InvalidOnnx", "raw_data of " + len + " bytes runs past the end of the file");
                    }
                    rawOffset = pos;
                    rawLength = len;
                    in.skipRawBytes(len);
                }
                case 13 -> {
                    int limit = pushMessage(in, fileLength);
                    String k = null, v = null;
                    while (true) {
                        int t = in.readTag();
                        if (t == 0) break;
                        switch (WireFormat.getTagFieldNumber(t)) {
                            case 1 -> k = in.readString();
                            case 2 -> v = in.readString();
                            default -> in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                    if (k != null) external.put(k, v);
                }
                case 14 -> location = in.readInt32();
                default -> in.skipField(tag);
            }
        }
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
            if (d[i] < 0) throw new CheckpointFormatException(file, name, "InvalidOnnx", "negative dimension " + d[i]);
        }
        DType dtype = OnnxInitializer.dtypeOf(dataType);
        if (dtype == null) {
            throw new CheckpointFormatException(file, name, "UnsupportedOnnx", "ONNX data type " + dataType + " has no safetensors dtype");
        }
        long count = 1;
        for (long x : d) {
            try {
                count = Math.multiplyExact(count, x);
            } catch (ArithmeticException e) {
                throw new CheckpointFormatException(file, name, "ValidationOverflow", "element count overflows");
            }
        }
        long bytes = dtype.byteLength(count);
        if (bytes < 0) throw new CheckpointFormatException(file, name, "ValidationOverflow", "byte size overflows");
        if (location == 1 || !external.isEmpty()) {
            String loc = external.get("location");
            if (loc == null) throw new CheckpointFormatException(file, name, "InvalidOnnx", "external data without a location");
            long off = parseLong(external.getOrDefault("offset", "0"), name);
            long len = external.containsKey("length") ? parseLong(external.get("length"), name) : bytes;
            if (len != bytes) {
                throw new CheckpointFormatException(file, name, "TensorInvalidInfo", "external data holds " + len + " bytes, the shape needs " + bytes);
            }
            return new OnnxInitializer(name, dataType, dtype, d, loc, off, len, null);
        }
        if (rawOffset >= 0) {
            if (rawLength != bytes) {
                throw new CheckpointFormatException(file, name, "TensorInvalidInfo", "raw_data holds " + rawLength + " bytes, the shape needs " + bytes);
            }
            return new OnnxInitializer(name, dataType, dtype, d, null, rawOffset, rawLength, null);
        }
        byte[] data = typed == null ? new byte[0] : narrow(typed.toByteArray(), typedField, dtype, count, name);
        if (data.length != bytes) {
            throw new CheckpointFormatException(file, name, "TensorInvalidInfo", "typed data holds " + data.length + " bytes, the shape needs " + bytes);
        }
        return new OnnxInitializer(name, dataType, dtype, d, null, -1, bytes, data);
    }

    private long parseLong(String s, String tensor) {
        try {
            long v = Long.parseLong(s);
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new CheckpointFormatException(file, tensor, "InvalidOnnx", "external data offset/length '" + s + "' is not a non-negative integer");
        }
    }

    /** Reads one typed repeated field (packed or not) as 8-byte little-endian values (int64 or double). */
    private void readTyped(CodedInputStream in, int field, int wire, ByteArrayOutputStream out, long fileLength, String name) throws IOException {
        int limit = -1;
        if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) limit = pushMessage(in, fileLength);
        ByteBuffer one = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        boolean first = true;
        while (limit >= 0 ? in.getBytesUntilLimit() > 0 : first) {
            first = false;
            one.clear();
            switch (field) {
                case 4 -> one.putLong(Double.doubleToRawLongBits(in.readFloat()));
                case 10 -> one.putLong(Double.doubleToRawLongBits(in.readDouble()));
                case 5 -> one.putLong(in.readInt32());
                case 7 -> one.putLong(in.readInt64());
                case 11 -> one.putLong(in.readUInt64());
                default -> throw new IllegalStateException();
            }
            out.write(one.array(), 0, 8);
            if (out.size() > 8 * MAX_INLINE_BYTES) {
                throw new CheckpointFormatException(file, name, "UnsupportedOnnx", "typed tensor data over " + MAX_INLINE_BYTES + " bytes");
            }
        }
        if (limit >= 0) in.popLimit(limit);
    }

    /** Turns the 8-byte staging values into the dtype's little-endian bytes (float16/bf16 come as uint16 bits in int32_data). */
    private byte[] narrow(byte[] staged, int field, DType dtype, long count, String name) {
        int n = staged.length / 8;
        if (n != count) {
            throw new CheckpointFormatException(file, name, "TensorInvalidInfo", "typed data holds " + n + " values, the shape needs " + count);
        }
        ByteBuffer src = ByteBuffer.wrap(staged).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer dst = ByteBuffer.allocate(Math.toIntExact(dtype.byteLength(n))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            long bits = src.getLong();
            switch (dtype) {
                case F32 -> dst.putFloat((float) Double.longBitsToDouble(bits));
                case F64 -> dst.putDouble(Double.longBitsToDouble(bits));
                case I8, U8, BOOL, F8_E4M3, F8_E5M2 -> dst.put((byte) bits);
                case I16, U16, F16, BF16 -> dst.putShort((short) bits);
                case I32, U32 -> dst.putInt((int) bits);
                case I64, U64 -> dst.putLong(bits);
                default -> throw new CheckpointFormatException(file, name, "UnsupportedOnnx", "typed data for " + dtype);
            }
        }
        if (field == 4 && dtype != DType.F32) {
            throw new CheckpointFormatException(file, name, "InvalidOnnx", "float_data given for a " + dtype + " tensor");
        }
        return dst.array();
    }

    public String file() { return file; }

    public List<OnnxInitializer> initializers() { return initializers; }

    public List<OnnxNode> nodes() { return nodes; }

    public long irVersion() { return irVersion; }

    public String producer() { return producer; }

    public Map<String, Long> opsets() { return opsets; }
}
