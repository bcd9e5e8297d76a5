package io.weightlab.common.io;

import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Python;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reference library -> our reader, and our writer -> reference library, for every dtype. */
class RoundTripTest {

    @Test
    void referenceFilesReadExactlyAndOurRewriteIsByteIdentical(@TempDir Path dir) throws IOException {
        Python.require("numpy", "ml_dtypes", "safetensors");
        int n = Integer.parseInt(Python.script(Python.testScript("roundtrip.py"), "write", dir.toString()).strip());
        Path ref = dir.resolve("ref.safetensors");
        Checkpoint ckpt = CheckpointCatalog.open(new Configuration(), ref.toUri().toString());
        assertEquals(n, ckpt.tensors().size());
        assertEquals(Map.of("format", "pt"), ckpt.shards().get(0).metadata());
        // natural order: layer 2 before layer 10
        List<String> names = ckpt.tensors().stream().map(TensorInfo::name).toList();
        assertTrue(names.indexOf("model.layers.2.x") < names.indexOf("model.layers.10.x"), names.toString());

        List<SafetensorsLayout.Spec> specs = new ArrayList<>();
        try (RangeReader reader = new RangeReader(new Configuration())) {
            for (TensorInfo t : ckpt.tensors()) {
                double[] expected = ElementDecoderTest.readF64(dir.resolve(t.name() + ".f64"));
                byte[] raw = reader.read(t.file(), t.dataBegin(), (int) t.byteLength());
                double[] got = new double[(int) t.elementCount()];
                ElementDecoder.decode(t.dtype(), raw, 0, got.length, got, 0);
                assertArrayEquals(expected, got, 0.0, t.name());
                specs.add(new SafetensorsLayout.Spec(t.name(), t.dtype(), t.shape()));
            }
            // Rewrite with our writer in a different order: the layout must still match the reference byte for byte.
            java.util.Collections.reverse(specs);
            SafetensorsLayout layout = SafetensorsLayout.of(specs, Map.of("format", "pt"));
            Path ours = dir.resolve("ours.safetensors");
            try (OutputStream out = Files.newOutputStream(ours);
                 SafetensorsWriter w = new SafetensorsWriter(out, layout, ours.toString())) {
                for (SafetensorsLayout.Entry e : layout.entries()) {
                    TensorInfo t = ckpt.tensor(e.spec().name());
                    byte[] raw = reader.read(t.file(), t.dataBegin(), (int) t.byteLength());
                    // in two pieces, as an executor streaming slices would
                    int half = raw.length / 2;
                    w.write(raw, 0, half);
                    w.write(raw, half, raw.length - half);
                }
            }
            assertArrayEquals(Files.readAllBytes(ref), Files.readAllBytes(ours), "our file differs from the reference writer's");
            assertEquals(String.valueOf(n), Python.script(Python.testScript("roundtrip.py"), "check", ours.toString(), dir.toString()).strip());
        }
    }
}
