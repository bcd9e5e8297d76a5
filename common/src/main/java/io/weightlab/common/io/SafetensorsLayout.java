package io.weightlab.common.io;

import io.weightlab.common.model.DType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where every tensor goes in a safetensors file we write, laid out exactly as the reference writer
 * ({@code prepare} in safetensors/src/tensor.rs) does: wider dtypes first (descending enum order), then by name;
 * compact JSON; header padded with spaces to a multiple of 8. Same input, same bytes as the Python library.
 */
public final class SafetensorsLayout {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tensor to be written: its bytes are supplied later, in {@link #entries()} order. */
    public record Spec(String name, DType dtype, long[] shape) {
        public long byteLength() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            long b = dtype.byteLength(n);
            if (b < 0) throw new IllegalArgumentException(name + ": " + dtype + Arrays.toString(shape) + " is not a whole number of bytes");
            return b;
        }
    }

    /** A placed tensor: offsets relative to the data buffer. */
    public record Entry(Spec spec, long begin, long end) {}

    private final List<Entry> entries;
    private final byte[] headerWithLength;

    private SafetensorsLayout(List<Entry> entries, byte[] headerWithLength) {
        this.entries = entries;
        this.headerWithLength = headerWithLength;
    }

    public static SafetensorsLayout of(List<Spec> specs, Map<String, String> metadata) {
        Set<String> names = new HashSet<>();
        for (Spec s : specs) {
            if (SafetensorsHeader.METADATA_KEY.equals(s.name()) || !names.add(s.name())) {
                throw new IllegalArgumentException("tensor name '" + s.name() + "' is reserved or given twice");
            }
        }
        List<Spec> sorted = new ArrayList<>(specs);
        sorted.sort(Comparator.comparingInt((Spec s) -> -s.dtype().ordinal()).thenComparing(Spec::name, SafetensorsLayout::compareUtf8));
        List<Entry> entries = new ArrayList<>();
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode md = root.putObject(SafetensorsHeader.METADATA_KEY);
            TreeMap<String, String> ordered = new TreeMap<>(SafetensorsLayout::compareUtf8);
            ordered.putAll(metadata);
            ordered.forEach(md::put);
        }
        long offset = 0;
        for (Spec s : sorted) {
            long end = Math.addExact(offset, s.byteLength());
            entries.add(new Entry(s, offset, end));
            ObjectNode e = root.putObject(s.name());
            e.put("dtype", s.dtype().name());
            ArrayNode shape = e.putArray("shape");
            for (long d : s.shape()) shape.add(d);
            ArrayNode off = e.putArray("data_offsets");
            off.add(offset);
            off.add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[8 + padded];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        System.arraycopy(json, 0, out, 8, json.length);
        Arrays.fill(out, 8 + json.length, out.length, (byte) ' ');
        return new SafetensorsLayout(List.copyOf(entries), out);
    }

    private static int compareUtf8(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /** The 8-byte length followed by the padded JSON header. */
    public byte[] headerBytes() { return headerWithLength.clone(); }

    /** Tensors in file order. */
    public List<Entry> entries() { return entries; }

    public long dataLength() {
        return entries.isEmpty() ? 0 : entries.get(entries.size() - 1).end();
    }

    public long fileLength() { return headerWithLength.length + dataLength(); }
}
