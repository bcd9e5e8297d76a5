package io.weightlab.common.io;

import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.model.DType;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.model.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors header with the reference implementation's rules
 * ({@code safetensors/src/tensor.rs}: read_metadata, Metadata::validate). Every rule has its own error name.
 */
public final class SafetensorsHeader {
    /** The reference's MAX_HEADER_SIZE. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    public static final String METADATA_KEY = "__metadata__";

    static final ObjectMapper STRICT_JSON = strictMapper();

    private final String file;
    private final long headerLength;
    private final Map<String, String> metadata;
    private final List<TensorInfo> tensors;

    private SafetensorsHeader(String file, long headerLength, Map<String, String> metadata, List<TensorInfo> tensors) {
        this.file = file;
        this.headerLength = headerLength;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** A JSON mapper that rejects duplicate keys and caps nesting and sizes: headers are untrusted input. */
    static ObjectMapper strictMapper() {
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(16)
                        .maxNumberLength(40)
                        .maxStringLength((int) MAX_HEADER_BYTES)
                        .build())
                .build();
        ObjectMapper mapper = new ObjectMapper(factory);
        mapper.enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        mapper.enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);
        mapper.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE);
        return mapper;
    }

    /** Reads N from the first 8 bytes and checks it against the reference's limits and the file length. */
    public static long headerLength(String file, byte[] first8, long fileLength) {
        if (fileLength < 8 || first8.length < 8) {
            throw new CheckpointFormatException(file, null, "HeaderTooSmall",
                    "file is " + fileLength + " bytes; a safetensors file starts with an 8-byte header length");
        }
        long n = ByteBuffer.wrap(first8, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new CheckpointFormatException(file, null, "HeaderTooLarge",
                    "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES
                            + " bytes (a git-lfs pointer or a file of another format?)");
        }
        if (8 + n > fileLength) {
            throw new CheckpointFormatException(file, null, "InvalidHeaderLength",
                    "header length " + n + " runs past the end of the " + fileLength + "-byte file (truncated?)");
        }
        return n;
    }

    /**
     * Validates the header bytes of {@code file} (whose total length is {@code fileLength}) and returns the
     * tensors with absolute byte ranges, sorted by offset.
     */
    public static SafetensorsHeader parse(String file, byte[] header, long fileLength) {
        long n = header.length;
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointFormatException(file, null, "InvalidHeader", "header is not valid UTF-8");
        }
        if (text.isEmpty() || text.charAt(0) != '{') {
            throw new CheckpointFormatException(file, null, "InvalidHeaderStart", "header must begin with '{'");
        }
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(text);
        } catch (Exception e) {
            String msg = firstLine(e.getMessage());
            if (msg.startsWith("Duplicate field")) {
                throw new CheckpointFormatException(file, null, "DuplicateTensor",
                        "a name occurs twice in the header (" + msg + ")");
            }
            throw new CheckpointFormatException(file, null, "InvalidHeaderDeserialization",
                    "header is not valid JSON: " + msg);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(file, null, "InvalidHeaderDeserialization", "header is not a JSON object");
        }
        long dataStart = 8 + n;
        Map<String, String> metadata = Collections.emptyMap();
        List<TensorInfo> tensors = new ArrayList<>();
        List<long[]> relative = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (METADATA_KEY.equals(name)) {
                metadata = parseMetadata(file, e.getValue());
                continue;
            }
            JsonNode entry = e.getValue();
            if (!entry.isObject()) {
                throw new CheckpointFormatException(file, name, "InvalidHeaderDeserialization", "entry is not an object");
            }
            JsonNode dt = entry.get("dtype");
            if (dt == null || !dt.isTextual()) {
                throw new CheckpointFormatException(file, name, "InvalidHeaderDeserialization", "missing string field 'dtype'");
            }
            DType dtype = DType.parse(dt.asText());
            if (dtype == null) {
                throw new CheckpointFormatException(file, name, "UnknownDType", "dtype '" + dt.asText() + "' is not a safetensors dtype");
            }
            long[] shape = nonNegativeLongs(file, name, entry.get("shape"), "shape", -1);
            long[] offsets = nonNegativeLongs(file, name, entry.get("data_offsets"), "data_offsets", 2);
            long count = 1;
            for (long d : shape) {
                try {
                    count = Math.multiplyExact(count, d);
                } catch (ArithmeticException ex) {
                    throw new CheckpointFormatException(file, name, "ValidationOverflow", "element count of shape "
                            + java.util.Arrays.toString(shape) + " overflows 64 bits");
                }
            }
            long bytes = dtype.byteLength(count);
            if (bytes < 0) {
                boolean overflow = count > Long.MAX_VALUE / dtype.bits();
                throw new CheckpointFormatException(file, name, overflow ? "ValidationOverflow" : "MisalignedSlice",
                        "shape " + java.util.Arrays.toString(shape) + " of " + dtype
                                + (overflow ? ": its size in bits overflows 64 bits" : " is not a whole number of bytes"));
            }
            if (offsets[1] < offsets[0]) {
                throw new CheckpointFormatException(file, name, "InvalidOffset",
                        "data_offsets [" + offsets[0] + ", " + offsets[1] + "] end before they begin");
            }
            if (offsets[1] - offsets[0] != bytes) {
                throw new CheckpointFormatException(file, name, "TensorInvalidInfo", "data_offsets span "
                        + (offsets[1] - offsets[0]) + " bytes but " + dtype + java.util.Arrays.toString(shape)
                        + " needs " + bytes);
            }
            if (offsets[1] > Long.MAX_VALUE - dataStart) {
                throw new CheckpointFormatException(file, name, "ValidationOverflow", "data_offsets beyond 2^63");
            }
            tensors.add(new TensorInfo(name, dtype, shape, file, dataStart + offsets[0], dataStart + offsets[1]));
            relative.add(offsets);
        }
        // The reference sorts by offsets, then requires a gapless, overlap-free cover of the buffer from 0.
        tensors.sort(Comparator.comparingLong(TensorInfo::dataBegin).thenComparingLong(TensorInfo::dataEnd));
        long expected = dataStart;
        for (TensorInfo t : tensors) {
            if (t.dataBegin() != expected) {
                String what = t.dataBegin() < expected ? "overlaps the previous tensor" : "leaves a gap after the previous tensor";
                throw new CheckpointFormatException(file, t.name(), "InvalidOffset", "data begins at buffer offset "
                        + (t.dataBegin() - dataStart) + " but the previous tensor ends at " + (expected - dataStart)
                        + ": it " + what);
            }
            expected = t.dataEnd();
        }
        if (expected != fileLength) {
            String detail = expected < fileLength
                    ? (fileLength - expected) + " trailing bytes after the last tensor"
                    : "tensors need " + (expected - fileLength) + " bytes more than the file has (truncated?)";
            throw new CheckpointFormatException(file, null, "MetadataIncompleteBuffer",
                    "header + data = " + expected + " bytes but the file is " + fileLength + ": " + detail);
        }
        return new SafetensorsHeader(file, n, metadata, Collections.unmodifiableList(tensors));
    }

    private static Map<String, String> parseMetadata(String file, JsonNode node) {
        if (!node.isObject()) {
            throw new CheckpointFormatException(file, METADATA_KEY, "InvalidMetadata", "__metadata__ must be a string-to-string map");
        }
        Map<String, String> m = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointFormatException(file, METADATA_KEY, "InvalidMetadata",
                        "value of '" + e.getKey() + "' is not a string");
            }
            m.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(m);
    }

    private static long[] nonNegativeLongs(String file, String tensor, JsonNode node, String field, int exactLength) {
        if (node == null || !node.isArray()) {
            throw new CheckpointFormatException(file, tensor, "InvalidHeaderDeserialization", "missing array field '" + field + "'");
        }
        if (exactLength >= 0 && node.size() != exactLength) {
            throw new CheckpointFormatException(file, tensor, "InvalidHeaderDeserialization",
                    "'" + field + "' must have " + exactLength + " entries, has " + node.size());
        }
        if (node.size() > 64) {
            throw new CheckpointFormatException(file, tensor, "InvalidHeaderDeserialization", "'" + field + "' has " + node.size() + " dimensions");
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || v.bigIntegerValue().signum() < 0) {
                throw new CheckpointFormatException(file, tensor, "InvalidHeaderDeserialization",
                        "'" + field + "' entries must be non-negative integers, got " + v);
            }
            if (v.bigIntegerValue().bitLength() > 63) {
                throw new CheckpointFormatException(file, tensor, "ValidationOverflow", "'" + field + "' value " + v + " exceeds 2^63");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    public String file() { return file; }

    public long headerLength() { return headerLength; }

    /** Absolute offset of the data buffer: 8 + N. */
    public long dataStart() { return 8 + headerLength; }

    public Map<String, String> metadata() { return metadata; }

    /** Tensors sorted by byte offset. */
    public List<TensorInfo> tensors() { return tensors; }
}
