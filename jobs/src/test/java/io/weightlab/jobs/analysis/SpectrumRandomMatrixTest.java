package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab spectrum --randomize} (issue #20) on planted matrices written by rmt_reference.py: the MP columns
 * equal numpy's fit, a Gaussian matrix has no spikes and no traps, a planted rank-k signal has exactly k spikes, five
 * huge elements in one row are one spike and five traps with a larger rand_distance than the clean matrix's.
 */
public class SpectrumRandomMatrixTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void plantedSpikesAndTrapsInTheSpectrumTable(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "scipy", "safetensors");
        JsonNode ref = JSON.readTree(Python.script(Python.testScript("rmt_reference.py"), "ckpt", tmp.toString()));
        Path out = tmp.resolve("spectrum");
        Cli.Run r = Cli.run("spectrum", tmp.toString(), "--out", out.toString(), "--randomize", "--no-powerlaw");
        assertEquals(0, r.exit(), r.err());
        Map<String, JsonNode> rows = new HashMap<>();
        for (JsonNode m : JSON.readTree(out.resolve("spectrum.json").toFile()).get("matrices")) rows.put(m.get("name").asText(), m);
        assertEquals(4, rows.size());
        ref.fields().forEachRemaining(e -> {
            JsonNode ours = rows.get(e.getKey()), np = e.getValue();
            String n = e.getKey();
            assertEquals("ok", ours.get("mp_status").asText(), n);
            assertEquals("ok", ours.get("traps_status").asText(), n);
            assertEquals(np.get("planted_spikes").asInt(), ours.get("mp_num_spikes").asInt(), n + ": planted spikes");
            assertEquals(np.get("num_spikes").asInt(), ours.get("mp_num_spikes").asInt(), n + ": numpy's count");
            for (String[] c : new String[][] {{"sigma2", "mp_sigma2"}, {"lambda_plus", "mp_lambda_plus"}, {"threshold", "mp_spike_threshold"},
                    {"softrank", "mp_softrank"}, {"spike_mass", "mp_spike_mass"}}) {
                double want = np.get(c[0]).asDouble();
                assertEquals(want, ours.get(c[1]).asDouble(), 1e-8 * Math.abs(want) + 1e-12, n + " " + c[1]);
            }
        });
        JsonNode gauss = rows.get("encoder.layer.0.attention.self.query.weight"), trapped = rows.get("encoder.layer.0.attention.output.dense.weight");
        assertEquals(0, gauss.get("traps").asInt(), "Gaussian: no traps");
        assertEquals(0, rows.get("encoder.layer.0.attention.self.key.weight").get("traps").asInt(), "low-rank signal: no traps");
        assertEquals(5, trapped.get("traps").asInt(), "five huge elements: five traps");
        assertTrue(trapped.get("trap_largest").asDouble() > 30000, trapped.toString());
        assertTrue(trapped.get("rand_distance").asDouble() > 3 * gauss.get("rand_distance").asDouble(),
                trapped.get("rand_distance") + " vs clean " + gauss.get("rand_distance"));

        Cli.Run partial = Cli.run("spectrum", tmp.toString(), "--randomize", "--method", "randomized");
        assertEquals(2, partial.exit(), "--randomize needs whole spectra");
        assertTrue(partial.err().contains("--method exact"), partial.err());

        // the permutation is seeded by (--seed, tensor name): the same run gives the same traps and distance
        Path again = tmp.resolve("again");
        assertEquals(0, Cli.run("spectrum", tmp.toString(), "--out", again.toString(), "--randomize", "--no-powerlaw").exit());
        for (JsonNode m : JSON.readTree(again.resolve("spectrum.json").toFile()).get("matrices")) {
            assertEquals(rows.get(m.get("name").asText()).get("rand_distance").asDouble(), m.get("rand_distance").asDouble(), 0.0);
        }
    }
}
