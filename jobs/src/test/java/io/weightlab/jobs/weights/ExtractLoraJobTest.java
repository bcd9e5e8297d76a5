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
import java.util.Iterator;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code extract-lora} on a small random Llama and a fine-tune of it whose deltas have known ranks (q_proj 2, o_proj
 * 5, k_proj 0, the rest full rank), checked through PEFT (extract_lora_check.py): the adapter loaded onto the base
 * and merged gives the fine-tune back to float32 rounding (1e-6 of max |W|) where rank(ΔW) ≤ r, and otherwise misses
 * it by exactly the residual energy numpy's SVD predicts (1e-5); unchanged modules get no adapter.
 */
public class ExtractLoraJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path models;

    @BeforeAll
    static void models() {
        Python.require("numpy", "torch", "safetensors", "transformers", "peft");
        Python.script(Python.testScript("extract_lora_check.py"), "make", models.toString());
    }

    @Test
    void peftGivesTheFineTuneBackToTheKeptEnergy(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("ft").toString(), "--base", models.resolve("base").toString(),
                "--out", out.toString(), "--r", "8", "--sv-epsilon", "1e-6");
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        JsonNode res = JSON.readTree(Python.script(Python.testScript("extract_lora_check.py"), "check", out.toString(),
                models.resolve("base").toString(), models.resolve("ft").toString()));
        JsonNode prov = JSON.readTree(out.resolve("weightlab_provenance.json").toFile());
        int lowRank = 0, fullRank = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = res.get("modules").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String module = e.getKey();
            JsonNode m = e.getValue();
            int trueRank = m.get("numpy_rank_1e-6").asInt();
            if (module.endsWith("k_proj")) {
                assertEquals(0, trueRank, module);
                assertFalse(m.has("rank"), module + ": an unchanged module has no adapter");
                continue;
            }
            assertTrue(m.has("rank"), module + " has an adapter");
            if (trueRank <= 8) {
                assertEquals(trueRank, m.get("rank").asInt(), module + ": ε cuts the rounding noise, so the rank is dW's");
                assertTrue(m.get("merged_minus_ft_max_rel").asDouble() < 1e-6, module + ": " + m);
                lowRank++;
            } else {
                assertEquals(8, m.get("rank").asInt(), module);
                double want = m.get("numpy_residual_energy").asDouble();
                assertTrue(want > 0.1, module + ": a full-rank delta loses energy at rank 8: " + m);
                assertEquals(want, m.get("measured_residual_energy").asDouble(), 1e-5, module + " through PEFT");
                fullRank++;
            }
        }
        assertEquals(4, lowRank, "q_proj and o_proj of two layers");
        assertEquals(8, fullRank, "v_proj, gate_proj, up_proj, down_proj of two layers");
        for (JsonNode row : prov.get("modules")) {
            JsonNode m = res.get("modules").get(row.get("module").asText());
            assertEquals(m.get("numpy_residual_energy").asDouble(), row.get("residual_energy").asDouble(), 1e-9, row.toString());
            assertEquals(m.get("numpy_sigma_kept").asDouble(), row.get("sigma_kept").asDouble(), 1e-9 * m.get("numpy_sigma_kept").asDouble(), row.toString());
            assertEquals(m.get("numpy_sigma_max").asDouble(), row.get("sigma_max").asDouble(), 1e-9 * m.get("numpy_sigma_max").asDouble(), row.toString());
            assertEquals(m.get("delta_frobenius").asDouble(), row.get("delta_frobenius").asDouble(), 1e-12 * m.get("delta_frobenius").asDouble());
        }
        JsonNode cfg = res.get("config");
        assertEquals(8, cfg.get("r").asInt());
        assertEquals(8, cfg.get("lora_alpha").asInt());
        assertEquals(4, cfg.get("rank_pattern").size(), cfg.toString());
        for (Iterator<Map.Entry<String, JsonNode>> it = cfg.get("rank_pattern").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertEquals(e.getValue().asDouble(), cfg.get("alpha_pattern").get(e.getKey()).asDouble(), 0.0, "alpha = rank: scaling 1 for " + e.getKey());
        }
        assertEquals(12, res.get("adapted").size(), "PEFT put LoRA on the 12 changed modules and not on k_proj: " + res.get("adapted"));
        for (JsonNode a : res.get("adapted")) assertFalse(a.asText().endsWith("k_proj"), a.asText());
    }

    @Test
    void rankPatternCapsThoseModulesAndPeftMeetsNumpysResidualAtThatRank(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("ft").toString(), "--base", models.resolve("base").toString(),
                "--out", out.toString(), "--r", "8", "--sv-epsilon", "1e-6", "--rank-pattern", "down_proj=3", "--rank-pattern", "o_proj=1");
        assertEquals(0, r.exit(), r.err());
        JsonNode res = JSON.readTree(Python.script(Python.testScript("extract_lora_check.py"), "check", out.toString(),
                models.resolve("base").toString(), models.resolve("ft").toString()));
        int capped = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = res.get("modules").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode m = e.getValue();
            if (!m.has("rank")) continue;
            // down_proj is full rank: capped at 3; o_proj has rank 5: capped at 1; q_proj (rank 2) keeps its own rank under --r 8
            int want = e.getKey().endsWith("down_proj") ? 3 : e.getKey().endsWith("o_proj") ? 1 : Math.min(8, m.get("numpy_rank_1e-6").asInt());
            assertEquals(want, m.get("rank").asInt(), e.getKey());
            assertEquals(m.get("numpy_residual_energy").asDouble(), m.get("measured_residual_energy").asDouble(), 1e-5, e.getKey() + " through PEFT: " + m);
            if (want < 8 && !e.getKey().endsWith("q_proj")) capped++;
        }
        assertEquals(4, capped, "down_proj and o_proj of two layers");
        Cli.Run bad = Cli.run("extract-lora", models.resolve("ft").toString(), "--base", models.resolve("base").toString(),
                "--out", tmp.resolve("bad").toString(), "--rank-pattern", "down_prj=3");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("down_prj matches no targeted module"), bad.err());
        assertFalse(Files.exists(tmp.resolve("bad")), "nothing written");
    }

    /**
     * `--method randomized` (the range finder with r + 10 directions, 4 power iterations): the low-rank modules come
     * back whole through PEFT (1e-6, their rank is dW's), the full-rank ones keep at least numpy's optimal residual
     * at rank 8 (Eckart–Young) and at most 1 % more, and the residual the provenance reports is the one PEFT's merge
     * shows (1e-5). A misspelled method is one line, exit 2, nothing written.
     */
    @Test
    void theRandomizedRangeGivesTheLowRankModulesWholeAndNearlyTheOptimumElse(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("ft").toString(), "--base", models.resolve("base").toString(),
                "--out", out.toString(), "--r", "8", "--sv-epsilon", "1e-6", "--method", "randomized", "--seed", "3");
        assertEquals(0, r.exit(), r.err());
        JsonNode res = JSON.readTree(Python.script(Python.testScript("extract_lora_check.py"), "check", out.toString(),
                models.resolve("base").toString(), models.resolve("ft").toString()));
        Map<String, JsonNode> prov = new java.util.HashMap<>();
        for (JsonNode row : JSON.readTree(out.resolve("weightlab_provenance.json").toFile()).get("modules")) prov.put(row.get("module").asText(), row);
        int lowRank = 0, fullRank = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = res.get("modules").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode m = e.getValue();
            if (!m.has("rank")) continue;
            assertEquals("randomized", prov.get(e.getKey()).get("route").asText(), e.getKey());
            int trueRank = m.get("numpy_rank_1e-6").asInt();
            double measured = m.get("measured_residual_energy").asDouble();
            assertEquals(measured, prov.get(e.getKey()).get("residual_energy").asDouble(), 1e-5, e.getKey() + ": the reported residual is PEFT's");
            if (trueRank <= 8) {
                assertEquals(trueRank, m.get("rank").asInt(), e.getKey());
                assertTrue(m.get("merged_minus_ft_max_rel").asDouble() < 1e-6, e.getKey() + ": " + m);
                lowRank++;
            } else {
                double optimum = m.get("numpy_residual_energy").asDouble();
                assertTrue(measured >= optimum - 1e-6 && measured <= optimum * 1.01, e.getKey() + ": " + measured + " vs the optimum " + optimum);
                fullRank++;
            }
        }
        assertEquals(4, lowRank);
        assertEquals(8, fullRank);
        Cli.Run bad = Cli.run("extract-lora", models.resolve("ft").toString(), "--base", models.resolve("base").toString(),
                "--out", tmp.resolve("bad").toString(), "--method", "randomised");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("did you mean 'randomized'"), bad.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
    }

    @Test
    void aMismatchedOrNonFiniteFineTuneIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) {
        for (String[] c : new String[][] {{"shape", "SameShape"}, {"nan", "FiniteValues"}}) {
            Path out = tmp.resolve("out-" + c[0]);
            Cli.Run r = Cli.run("extract-lora", models.resolve(c[0]).toString(), "--base", models.resolve("base").toString(), "--out", out.toString());
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains(c[1]), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(out), c[0] + ": nothing is written");
        }
        Cli.Run same = Cli.run("extract-lora", models.resolve("base").toString(), "--base", models.resolve("base").toString(), "--out", tmp.resolve("same").toString());
        assertEquals(2, same.exit(), same.err());
        assertTrue(same.err().contains("no adapter to extract"), same.err());
        assertFalse(Files.exists(tmp.resolve("same")));
    }
}
