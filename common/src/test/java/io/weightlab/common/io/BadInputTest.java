package io.weightlab.common.io;

import io.weightlab.common.error.CheckpointFormatException;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every broken-file rule has its own test: the error names the file, the tensor (when there is one) and the rule. */
class BadInputTest {
    @TempDir
    Path dir;

    /** 8-byte length + header + data of the given size. */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h, dataBytes);
    }

    static byte[] file(byte[] h, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    private CheckpointFormatException fails(byte[] content, String rule) throws IOException {
        Path p = dir.resolve("bad-" + rule + "-" + System.nanoTime() + ".safetensors");
        Files.write(p, content);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> CheckpointCatalog.open(new Configuration(), p.toUri().toString()));
        assertEquals(rule, e.rule(), e.getMessage());
        assertTrue(e.getMessage().contains(p.getFileName().toString()), "message names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(rule), e.getMessage());
        return e;
    }

    private static final String GOOD = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}";

    @Test
    void goodFileReads() throws IOException {
        Path p = dir.resolve("good.safetensors");
        Files.write(p, file(GOOD, 16));
        Checkpoint c = CheckpointCatalog.open(new Configuration(), p.toUri().toString());
        assertEquals(2, c.tensors().size());
        assertEquals(8 + GOOD.length() + 8, c.tensor("b").dataBegin());
    }

    @Test
    void entriesOutOfOffsetOrderAreLegalWhenContiguous() throws IOException {
        String h = "{\"b\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Path p = dir.resolve("order.safetensors");
        Files.write(p, file(h, 16));
        assertEquals(2, CheckpointCatalog.open(new Configuration(), p.toUri().toString()).tensors().size());
    }

    @Test
    void truncatedFile() throws IOException {
        byte[] f = file(GOOD, 16);
        fails(Arrays.copyOf(f, f.length - 3), "MetadataIncompleteBuffer");
    }

    @Test
    void trailingBytes() throws IOException {
        fails(file(GOOD, 20), "MetadataIncompleteBuffer");
    }

    @Test
    void tooSmall() throws IOException {
        fails(new byte[] {1, 2, 3}, "HeaderTooSmall");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        byte[] f = file(GOOD, 16);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, f.length);
        fails(f, "InvalidHeaderLength");
    }

    @Test
    void headerOver100MB() throws IOException {
        byte[] f = file(GOOD, 16);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 100_000_001L);
        fails(f, "HeaderTooLarge");
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -5L); // 2^64 - 5 as u64
        fails(f, "HeaderTooLarge");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] h = GOOD.getBytes(StandardCharsets.UTF_8);
        h[3] = (byte) 0xC3; // a lead byte followed by an ASCII letter
        fails(file(h, 16), "InvalidHeader");
    }

    @Test
    void invalidJson() throws IOException {
        fails(file(GOOD.substring(0, GOOD.length() - 1) + ",", 16), "InvalidHeaderDeserialization");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "InvalidHeaderDeserialization");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "InvalidHeaderDeserialization");
    }

    @Test
    void headerNotAnObject() throws IOException {
        fails(file("[1,2,3]  ", 0), "InvalidHeaderStart");
    }

    @Test
    void deeplyNestedJsonIsRejectedNotOverflowed() throws IOException {
        String deep = "{\"__metadata__\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        fails(file(deep, 0), "InvalidHeaderDeserialization");
    }

    @Test
    void overlappingOffsets() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        CheckpointFormatException e = fails(file(h, 12), "InvalidOffset");
        assertEquals("b", e.tensor());
    }

    @Test
    void gappedOffsets() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}";
        CheckpointFormatException e = fails(file(h, 20), "InvalidOffset");
        assertEquals("b", e.tensor());
    }

    @Test
    void firstTensorNotAtZero() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        fails(file(h, 12), "InvalidOffset");
    }

    @Test
    void endBeforeBegin() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}";
        fails(file(h, 8), "InvalidOffset");
    }

    @Test
    void sizeMismatch() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
        CheckpointFormatException e = fails(file(h, 8), "TensorInvalidInfo");
        assertEquals("a", e.tensor());
    }

    @Test
    void unknownDtype() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        CheckpointFormatException e = fails(file(h, 8), "UnknownDType");
        assertTrue(e.getMessage().contains("F12"));
    }

    @Test
    void shapeProductOverflows() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}";
        fails(file(h, 8), "ValidationOverflow");
        String h2 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}";
        fails(file(h2, 8), "ValidationOverflow");
    }

    @Test
    void tensorListedTwice() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        fails(file(h, 16), "DuplicateTensor");
    }

    @Test
    void metadataMustBeStrings() throws IOException {
        String h = "{\"__metadata__\":{\"format\":3},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        fails(file(h, 8), "InvalidMetadata");
    }

    @Test
    void zeroSizeAndScalarTensorsAreLegal() throws IOException {
        String h = "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                + "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}";
        Path p = dir.resolve("scalars.safetensors");
        Files.write(p, file(h, 8));
        Checkpoint c = CheckpointCatalog.open(new Configuration(), p.toUri().toString());
        assertEquals(0, c.tensor("e").elementCount());
        assertEquals(1, c.tensor("s").elementCount());
    }

    // ---- sharded index ----

    private Path shardedDir(String weightMapJson) throws IOException {
        Path d = Files.createDirectories(dir.resolve("sharded-" + System.nanoTime()));
        Files.write(d.resolve("model-1.safetensors"), file(GOOD, 16));
        Files.writeString(d.resolve(ShardedIndex.DEFAULT_NAME), "{\"metadata\":{\"total_size\":16},\"weight_map\":" + weightMapJson + "}");
        return d;
    }

    private CheckpointFormatException indexFails(String weightMap, String rule) throws IOException {
        Path d = shardedDir(weightMap);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> CheckpointCatalog.open(new Configuration(), d.toUri().toString()));
        assertEquals(rule, e.rule(), e.getMessage());
        assertTrue(e.getMessage().contains(ShardedIndex.DEFAULT_NAME) || e.getMessage().contains("model-1"), e.getMessage());
        return e;
    }

    @Test
    void indexReads() throws IOException {
        Path d = shardedDir("{\"a\":\"model-1.safetensors\",\"b\":\"model-1.safetensors\"}");
        assertEquals(2, CheckpointCatalog.open(new Configuration(), d.toUri().toString()).tensors().size());
    }

    @Test
    void indexNamesMissingShard() throws IOException {
        CheckpointFormatException e = indexFails("{\"a\":\"model-1.safetensors\",\"b\":\"model-2.safetensors\"}", "MissingShard");
        assertEquals("b", e.tensor());
    }

    @Test
    void indexEscapesItsDirectory() throws IOException {
        for (String shard : new String[] {"../model-1.safetensors", "/etc/passwd", "s3a://bucket/x.safetensors", "sub/model-1.safetensors", ".."}) {
            indexFails("{\"a\":\"" + shard + "\",\"b\":\"model-1.safetensors\"}", "IndexEscapesDirectory");
        }
    }

    @Test
    void indexListsTensorTwice() throws IOException {
        indexFails("{\"a\":\"model-1.safetensors\",\"a\":\"model-1.safetensors\"}", "DuplicateTensor");
    }

    @Test
    void indexDisagreesWithHeaders() throws IOException {
        indexFails("{\"a\":\"model-1.safetensors\"}", "IndexMismatch");
        indexFails("{\"a\":\"model-1.safetensors\",\"b\":\"model-1.safetensors\",\"c\":\"model-1.safetensors\"}", "IndexMismatch");
    }
}
