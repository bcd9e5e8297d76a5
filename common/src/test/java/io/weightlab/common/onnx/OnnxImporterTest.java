package io.weightlab.common.onnx;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Python;
import io.weightlab.common.testing.TensorAssertions;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model built with the onnx library, and the safetensors file numpy says it must become. */
class OnnxImporterTest {

    private static Checkpoint importTo(Path model, Path out) {
        StagedOutput so = StagedOutput.begin(new Configuration(), out.toUri().toString(), false);
        OnnxImporter.importModel(new Configuration(), model.toUri().toString(), so, "model.safetensors", Map.of());
        so.commit();
        return CheckpointCatalog.open(new Configuration(), out.resolve("model.safetensors").toUri().toString());
    }

    @Test
    void namingLayoutTypedAndExternalData(@TempDir Path dir) throws IOException {
        Python.require("numpy", "onnx", "safetensors");
        Python.script(Python.testScript("make_onnx.py"), dir.toString());
        Checkpoint got = importTo(dir.resolve("model.onnx"), dir.resolve("out"));
        Checkpoint expected = CheckpointCatalog.open(new Configuration(), dir.resolve("expected.safetensors").toUri().toString());
        TensorAssertions.assertSameTensors(expected, got);
        assertTrue(Files.exists(dir.resolve("out/_SUCCESS")));
        assertTrue(Files.readString(dir.resolve("out/name_map.json")).contains("\"original\" : \"onnx::MatMul_10\""));
    }

    @Test
    void externalDataOutsideTheModelDirectoryIsRefused(@TempDir Path dir) throws IOException {
        Python.require("numpy", "onnx", "safetensors");
        Path sub = Files.createDirectories(dir.resolve("m"));
        Python.script(Python.testScript("make_onnx.py"), sub.toString(), "--escape");
        Files.copy(sub.resolve("weights.bin"), dir.resolve("weights.bin"));
        Path out = dir.resolve("out");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> {
            StagedOutput so = StagedOutput.begin(new Configuration(), out.toUri().toString(), false);
            try {
                OnnxImporter.importModel(new Configuration(), sub.resolve("model.onnx").toUri().toString(), so, "model.safetensors", Map.of());
            } finally {
                so.abort();
            }
        });
        assertEquals("ExternalDataEscapesDirectory", e.rule(), e.getMessage());
        assertEquals("side.table.weight", e.tensor());
        assertFalse(Files.exists(out), "nothing may be left behind");
    }

    @Test
    void truncatedModelGivesATypedError(@TempDir Path dir) throws IOException {
        Python.require("numpy", "onnx", "safetensors");
        Python.script(Python.testScript("make_onnx.py"), dir.toString());
        byte[] b = Files.readAllBytes(dir.resolve("model.onnx"));
        for (int cut : new int[] {b.length / 3, b.length / 2, b.length - 7}) {
            Path t = dir.resolve("cut" + cut + ".onnx");
            Files.write(t, Arrays.copyOf(b, cut));
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> OnnxModelScanner.scan(t.toString(), Files.newInputStream(t), cut));
            assertTrue(e.rule().equals("InvalidOnnx"), e.getMessage());
        }
    }
}
