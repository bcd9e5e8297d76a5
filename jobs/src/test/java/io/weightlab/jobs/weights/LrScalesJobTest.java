package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code lr-scales} against numpy computing SGD-SaI's formula on the same gradients (lr_scales_check.py): every block's
 * g-SNR and scale to 1e-9 relative (the job sums in double over float32 values in slices; numpy in one pass), the
 * all-zero block at scale 0, the largest scale exactly 1, and parameter groups PyTorch can load.
 */
public class LrScalesJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "safetensors");
    }

    @Test
    void scalesEqualNumpysSgdSaiFormula(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("llama");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", model.toString(), "--dtype", "F32").exit());
        Path grads = tmp.resolve("grads.safetensors");
        Python.script(Python.testScript("lr_scales_check.py"), "make", model.toString(), grads.toString());
        Path out = tmp.resolve("scales");
        Cli.Run r = Cli.run("lr-scales", model.toString(), "--gradients", grads.toString(), "--out", out.toString(), "--lr", "0.02",
                "--slice-mb", "1");
        assertEquals(0, r.exit(), r.err());

        JsonNode numpy = JSON.readTree(Python.script(Python.testScript("lr_scales_check.py"), "check", grads.toString()));
        JsonNode blocks = JSON.readTree(out.resolve("lr_scales.json").toFile()).get("blocks");
        assertEquals(numpy.size(), blocks.size(), "one row per parameter tensor");
        double maxScale = 0;
        int zero = 0;
        for (JsonNode b : blocks) {
            JsonNode e = numpy.get(b.get("name").asText());
            for (String[] f : new String[][] {{"gsnr", "gsnr"}, {"lr_scale", "lr_scale"}, {"grad_norm", "norm"}, {"grad_std", "std"}}) {
                double want = e.get(f[1]).asDouble();
                assertEquals(want, b.get(f[0]).asDouble(), 1e-9 * Math.abs(want), b.get("name").asText() + " " + f[0]);
            }
            assertEquals(0.02 * b.get("lr_scale").asDouble(), b.get("lr").asDouble(), 1e-18, "lr = base lr x scale");
            maxScale = Math.max(maxScale, b.get("lr_scale").asDouble());
            if (b.get("grad_norm").asDouble() == 0) {
                assertEquals(0.0, b.get("lr_scale").asDouble(), "an all-zero gradient gets no learning rate");
                zero++;
            }
        }
        assertEquals(1.0, maxScale, 0.0, "the largest scale is exactly 1");
        assertEquals(1, zero);
        JsonNode groups = JSON.readTree(out.resolve("param_groups.json").toFile()).get("groups");
        assertEquals(blocks.size(), groups.size());
        assertTrue(Files.exists(out.resolve("_SUCCESS")) && Files.exists(out.resolve("lr_scales.parquet")));
    }

    @Test
    void aMissingOrMisshapenGradientIsRefusedWithNothingWritten(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("llama");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", model.toString(), "--dtype", "F32").exit());
        Path grads = tmp.resolve("grads.safetensors");
        Python.script(Python.testScript("lr_scales_check.py"), "make", model.toString(), grads.toString());
        for (String[] c : new String[][] {{"missing", "GradientPresent"}, {"shape", "GradientShape"}}) {
            Path bad = tmp.resolve(c[0] + ".safetensors"), out = tmp.resolve("out-" + c[0]);
            String name = Python.script(Python.testScript("lr_scales_check.py"), "bad", grads.toString(), bad.toString(), c[0]).strip();
            Cli.Run r = Cli.run("lr-scales", model.toString(), "--gradients", bad.toString(), "--out", out.toString());
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains(c[1]) && r.err().contains(name), r.err());
            assertFalse(Files.exists(out), "nothing is written");
        }
    }
}
