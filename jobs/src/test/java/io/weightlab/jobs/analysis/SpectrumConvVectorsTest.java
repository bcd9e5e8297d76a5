package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code spectrum --vectors} end to end on a Conv2D kernel and a linear weight, against numpy (vector_reference.py):
 * the kernel's pooled ESD is ½s² of its nine slices (WeightWatcher's oracle 7), the linear row's localisation
 * columns are numpy's on np.linalg.svd's vectors. One Spark run.
 */
class SpectrumConvVectorsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void convKernelPoolsItsSlicesAndVectorsMatchNumpy(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "safetensors");
        Python.script(Python.testScript("vector_reference.py"), "ckpt", tmp.toString());
        Cli.Run bad = Cli.run("spectrum", tmp.resolve("model.safetensors").toString(), "--vectors", "--method", "randomized");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--vectors"), bad.err());

        Path out = tmp.resolve("spec");
        Cli.Run r = Cli.run("spectrum", tmp.resolve("model.safetensors").toString(), "--out", out.toString(), "--vectors");
        assertEquals(0, r.exit(), r.err());
        JsonNode rows = JSON.readTree(out.resolve("spectrum.json").toFile()).get("matrices");
        JsonNode conv = null, linear = null;
        for (JsonNode row : rows) {
            if (row.get("name").asText().equals("features.0.weight")) conv = row;
            if (row.get("name").asText().equals("classifier.weight")) linear = row;
        }
        assertEquals("ok", conv.get("status").asText(), conv.toString());
        assertEquals(64, conv.get("N").asLong());
        assertEquals(32, conv.get("M").asLong());
        assertEquals(9, conv.get("conv2d_slices").asInt());
        assertEquals(288, conv.get("num_evals").asInt());
        assertEquals(1, linear.get("conv2d_slices").asInt());
        assertEquals("ok", linear.get("vectors_status").asText());

        JsonNode ref = JSON.readTree(Python.script(Python.testScript("vector_reference.py"), "check", tmp.toString(),
                Integer.toString(linear.get("num_pl_spikes").asInt())));
        JsonNode sv = JSON.readTree(out.resolve("singular_values.json").toFile()).get("features.0.weight");
        JsonNode evals = ref.get("conv_evals");
        assertEquals(288, sv.size());
        for (int i = 0; i < 288; i++) {
            double s = sv.get(i).asDouble();
            assertEquals(evals.get(i).asDouble(), s * s, 1e-10 * evals.get(i).asDouble(), "conv eigenvalue " + i);
        }
        int tail = 0;
        for (var it = ref.get("linear_columns").fields(); it.hasNext(); ) {
            var e = it.next();
            // an empty group: None in numpy, NaN here, null in spectrum.json
            if (e.getValue().isNull()) {
                assertTrue(linear.get(e.getKey()).isNull(), e.getKey());
                continue;
            }
            double want = e.getValue().asDouble();
            assertEquals(want, linear.get(e.getKey()).asDouble(), 1e-10 * Math.abs(want), e.getKey());
            if (e.getKey().startsWith("tail_")) tail++;
        }
        assertEquals(6, tail, "the power-law tail holds vectors");
    }
}
