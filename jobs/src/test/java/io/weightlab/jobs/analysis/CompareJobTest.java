package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab compare} (issue #9) on the all-MiniLM-L6-v2 fixture against variants made by compare_check.py:
 * the closed-form oracles of docs/algorithms.md §7.1–7.2 (δ(W, W) = 0, δ(W, −W) = 2, δ(W, 3W) = 0, a planted rank-4 ΔW
 * has rank 4) and, on a noisy series member, every rotation, change and rank equal to numpy's float64 values.
 */
public class CompareJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "safetensors");
    }

    @Test
    void oraclesHoldAndASeriesMatchesNumpy(@TempDir Path tmp) throws IOException {
        Path fixture = Fixtures.dir("all-minilm-l6-v2");
        Path v = tmp.resolve("variants");
        Python.script(Python.testScript("compare_check.py"), "make", fixture.toString(), v.toString());
        Path out = tmp.resolve("cmp");
        String[] series = {"same", "neg", "scaled", "planted", "noisy"};
        String[] args = new String[4 + series.length];
        args[0] = "compare";
        args[1] = fixture.toString();
        for (int i = 0; i < series.length; i++) args[2 + i] = v.resolve(series[i]).toString();
        args[2 + series.length] = "--out";
        args[3 + series.length] = out.toString();
        Cli.Run r = Cli.run(args);
        assertEquals(0, r.exit(), r.err());
        JsonNode all = JSON.readTree(out.resolve("compare.json").toFile());

        Map<String, JsonNode> noisy = new HashMap<>();
        int kernels = 0;
        for (JsonNode t : all.get("tensors")) {
            String ck = Path.of(t.get("checkpoint").asText()).getFileName().toString();
            String name = t.get("name").asText();
            double rot = t.get("rotation").asDouble();
            switch (ck) {
                case "same" -> {
                    assertEquals(0.0, rot, 0.0, name + ": δ(W, W) = 0 exactly");
                    assertEquals(0, t.get("delta_rank_0.01").asInt(), name);
                    kernels++;
                }
                case "neg" -> assertEquals(2.0, rot, 1e-12, name + ": δ(W, −W) = 2");
                case "scaled" -> {
                    assertEquals(0.0, rot, 1e-12, name + ": δ(W, 3W) = 0");
                    assertEquals(2.0, t.get("rel_norm_change").asDouble(), 1e-6, name + ": ‖3W‖/‖W‖ − 1 (float32 storage)");
                }
                case "planted" -> {
                    if (t.get("shape").size() == 2) {
                        int k = Math.min(4, Math.min(t.get("shape").get(0).asInt(), t.get("shape").get(1).asInt())); // token types: [2, 384]
                        assertEquals(k, t.get("delta_rank_0.01").asInt(), name + ": planted rank 4");
                        assertEquals(k, t.get("delta_rank_0.001").asInt(), name + ": planted rank 4");
                        assertTrue(t.get("delta_effective_rank").asDouble() <= k + 1e-6, name + ": erank <= k (F32 reference, F64 planted copy)");
                    }
                }
                case "noisy" -> noisy.put(name, t);
                default -> throw new AssertionError(ck);
            }
        }
        assertTrue(kernels > 30, "kernels compared: " + kernels);

        JsonNode np = JSON.readTree(Python.script(Python.testScript("compare_check.py"), "check", fixture.toString(), v.resolve("noisy").toString()));
        assertEquals(np.get("tensors").size(), noisy.size());
        np.get("tensors").fields().forEachRemaining(e -> {
            JsonNode ours = noisy.get(e.getKey()), ref = e.getValue();
            String n = e.getKey();
            assertEquals(ref.get("rotation").asDouble(), ours.get("rotation").asDouble(), 1e-12 + 1e-9 * ref.get("rotation").asDouble(), n + " rotation");
            assertEquals(ref.get("rel_delta").asDouble(), ours.get("rel_delta").asDouble(), 1e-10 * ref.get("rel_delta").asDouble(), n + " rel_delta");
            assertEquals(ref.get("rank_0.01").asInt(), ours.get("delta_rank_0.01").asInt(), n + " rank 1e-2");
            assertEquals(ref.get("rank_0.001").asInt(), ours.get("delta_rank_0.001").asInt(), n + " rank 1e-3");
            assertEquals(ref.get("stable_rank").asDouble(), ours.get("delta_stable_rank").asDouble(), 1e-9 * ref.get("stable_rank").asDouble(), n + " stable rank");
            assertEquals(ref.get("effective_rank").asDouble(), ours.get("delta_effective_rank").asDouble(), 1e-9 * ref.get("effective_rank").asDouble(), n + " erank");
            assertEquals(ref.get("matrix_rank").asInt(), ours.get("delta_matrix_rank").asInt(), n + " rank above numpy's floor");
            for (String f : new String[] {"std_ref", "std", "kurtosis_excess_ref", "kurtosis_excess"}) {
                assertEquals(ref.get(f).asDouble(), ours.get(f).asDouble(), 1e-9 * Math.abs(ref.get(f).asDouble()) + 1e-12, n + " " + f + " (distribution shift)");
            }
        });
        int layersChecked = 0;
        for (JsonNode l : all.get("layers")) {
            if (!Path.of(l.get("checkpoint").asText()).getFileName().toString().equals("noisy") || !l.hasNonNull("layer_index")) continue;
            double ref = np.get("layers").get(l.get("layer_index").asText()).asDouble();
            assertEquals(ref, l.get("rotation").asDouble(), 1e-12 + 1e-9 * ref, "layer " + l.get("layer_index") + " rotation of its kernels as one vector");
            layersChecked++;
        }
        assertEquals(6, layersChecked);
        String notCompared = all.get("not_compared").toString();
        assertTrue(notCompared.contains("encoder.layer.5.intermediate.dense.weight") && notCompared.contains("extra.weight"), notCompared);
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("id=\"report-data\"") && html.contains("\"rotation\":"), "the report has its data");

        // --strict turns the mismatches into an error, and nothing is written.
        Cli.Run strict = Cli.run("compare", fixture.toString(), v.resolve("noisy").toString(), "--out", tmp.resolve("strict").toString(), "--strict");
        assertEquals(2, strict.exit());
        assertTrue(strict.err().contains("SameTensors") && strict.err().contains("encoder.layer.5.intermediate.dense.weight"), strict.err());
        assertFalse(Files.exists(tmp.resolve("strict")));
    }
}
