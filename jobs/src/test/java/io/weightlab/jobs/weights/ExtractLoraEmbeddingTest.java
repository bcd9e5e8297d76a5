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
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code extract-lora --include embeddings,head} on a small random Llama whose fine-tune changed embed_tokens by rank
 * 3 plus noise and lm_head by exactly rank 3 (extract_lora_check.py make-vocab), checked through PEFT: the adapter
 * loads, and merge_and_unload gives W_base + numpy's rank-k SVD reconstruction of ΔW to 1e-6 of max |W_ft| (float32
 * rounding of the factors and the merge), hence W_ft itself where rank(ΔW) ≤ r. A tied pair gets one embedding
 * adapter that the merged head shares. Without --include both are left out; a misspelled value is refused.
 */
public class ExtractLoraEmbeddingTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Merged minus expected, relative to max |W_ft|: float32 factors and a float32 merge. */
    static final double TOLERANCE = 1e-6;
    static final String EMBED = "model.embed_tokens.weight", HEAD = "lm_head.weight";
    @TempDir
    static Path models;

    @BeforeAll
    static void models() {
        Python.require("numpy", "torch", "safetensors", "transformers", "peft");
        Python.script(Python.testScript("extract_lora_check.py"), "make-vocab", models.toString());
    }

    static JsonNode check(Path out, String base, String ft) throws IOException {
        return JSON.readTree(Python.script(Python.testScript("extract_lora_check.py"), "check", out.toString(),
                models.resolve(base).toString(), models.resolve(ft).toString()));
    }

    @Test
    void peftMergesTheEmbeddingAndHeadToNumpysTopRReconstruction(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("vft").toString(), "--base", models.resolve("base").toString(), "--out", out.toString(),
                "--r", "4", "--rank-pattern", "embed_tokens=2", "--sv-epsilon", "1e-6", "--include", "embeddings,head");
        assertEquals(0, r.exit(), r.err());
        JsonNode res = check(out, "base", "vft");
        JsonNode keys = res.get("adapter_keys");
        // PEFT's embedding LoRA: A (r, num_embeddings), B (embedding_dim, r), bare parameters; the head an ordinary Linear
        assertEquals(List.of(2, 128), shape(keys, "base_model.model.model.embed_tokens.lora_embedding_A"), keys.toString());
        assertEquals(List.of(64, 2), shape(keys, "base_model.model.model.embed_tokens.lora_embedding_B"), keys.toString());
        assertEquals(List.of(3, 64), shape(keys, "base_model.model.lm_head.lora_A.weight"), keys.toString());
        assertEquals(List.of(128, 3), shape(keys, "base_model.model.lm_head.lora_B.weight"), keys.toString());
        List<String> adapted = texts(res.get("adapted"));
        assertTrue(adapted.contains("model.embed_tokens") && adapted.contains("lm_head"), "PEFT adapted both: " + adapted);

        JsonNode embed = res.get("vocab").get(EMBED), head = res.get("vocab").get(HEAD);
        assertEquals(2, embed.get("rank").asInt(), "--rank-pattern embed_tokens=2 caps it");
        assertTrue(embed.get("merged_minus_want_max_rel").asDouble() < TOLERANCE, "embedding = W_base + numpy's rank-2 SVD: " + embed);
        assertTrue(embed.get("merged_minus_ft_max_rel").asDouble() > 1e-3, "rank 3 + noise is not rank 2: the check can fail: " + embed);
        assertEquals(3, head.get("numpy_rank_1e-6").asInt(), head.toString());
        assertEquals(3, head.get("rank").asInt(), "the head's ΔW has rank 3 <= r 4: " + head);
        assertTrue(head.get("merged_minus_ft_max_rel").asDouble() < TOLERANCE, "head = W_ft: " + head);
        assertTrue(head.get("merged_minus_base_max_rel").asDouble() > 1e-2, "the head did change: " + head);

        JsonNode prov = JSON.readTree(out.resolve("weightlab_provenance.json").toFile());
        int vocabRows = 0;
        for (JsonNode row : prov.get("modules")) {
            String module = row.get("module").asText();
            if (!module.equals("model.embed_tokens") && !module.equals("lm_head")) {
                assertEquals("svd", row.get("route").asText(), module);
                continue;
            }
            vocabRows++;
            JsonNode want = res.get("vocab").get(module + ".weight");
            assertEquals("gram", row.get("route").asText(), module);
            assertEquals(module.equals("lm_head") ? "linear" : "embedding", row.get("layer").asText(), module);
            assertEquals(want.get("numpy_residual_energy").asDouble(), row.get("residual_energy").asDouble(), 1e-6, module + ": " + row);
            assertEquals(want.get("numpy_sigma_max").asDouble(), row.get("sigma_max").asDouble(), 1e-9 * want.get("numpy_sigma_max").asDouble(), module);
            assertEquals(want.get("numpy_sigma_kept").asDouble(), row.get("sigma_kept").asDouble(), 1e-9 * want.get("numpy_sigma_max").asDouble(), module);
            assertEquals(want.get("delta_frobenius").asDouble(), row.get("delta_frobenius").asDouble(), 1e-12 * want.get("delta_frobenius").asDouble(), module);
        }
        assertEquals(2, vocabRows);
        assertEquals(List.of("embeddings", "head"), texts(prov.get("run").get("include")));
        JsonNode targets = res.get("config").get("target_modules");
        assertTrue(targets.isTextual() && targets.asText().contains("model\\.embed_tokens") && targets.asText().contains("lm_head"),
                "k_proj is unchanged, so a regex of the kept paths, the embedding and head among them: " + targets);
    }

    @Test
    void aTiedHeadIsExtractedOnceAsTheEmbeddingAndMergedHeadSharesIt(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("tft").toString(), "--base", models.resolve("tied").toString(), "--out", out.toString(),
                "--r", "4", "--include", "embeddings,head");
        assertEquals(0, r.exit(), r.err());
        JsonNode res = check(out, "tied", "tft");
        assertEquals(List.of("base_model.model.model.embed_tokens.lora_embedding_A", "base_model.model.model.embed_tokens.lora_embedding_B"),
                List.copyOf(iter(res.get("adapter_keys").fieldNames())), "one adapter, on the embedding; the layers are unchanged");
        for (String name : List.of(EMBED, HEAD)) {
            JsonNode m = res.get("vocab").get(name);
            assertEquals("model.embed_tokens", m.get("source").asText());
            assertEquals(4, m.get("rank").asInt(), name);
            assertTrue(m.get("merged_minus_want_max_rel").asDouble() < TOLERANCE, name + " = W_base + numpy's rank-4 SVD of the shared ΔW: " + m);
            assertTrue(m.get("merged_minus_base_max_rel").asDouble() > 1e-2, name + " changed: " + m);
        }
        JsonNode prov = JSON.readTree(out.resolve("weightlab_provenance.json").toFile());
        assertEquals(List.of("model.embed_tokens"), texts(prov.get("run").get("head_tied_to")), "the embedding adapter stands for the tied head");

        Cli.Run headOnly = Cli.run("extract-lora", models.resolve("tft").toString(), "--base", models.resolve("tied").toString(),
                "--out", tmp.resolve("head-only").toString(), "--include", "head");
        assertEquals(2, headOnly.exit(), headOnly.err());
        assertTrue(headOnly.err().contains("tied to model.embed_tokens") && headOnly.err().contains("--include embeddings"), headOnly.err());
        assertFalse(Files.exists(tmp.resolve("head-only")), "nothing written");
    }

    @Test
    void withoutIncludeTheChangedEmbeddingAndHeadAreLeftOut(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("vft").toString(), "--base", models.resolve("base").toString(), "--out", out.toString(), "--r", "4");
        assertEquals(0, r.exit(), r.err());
        JsonNode res = check(out, "base", "vft");
        for (String key : iter(res.get("adapter_keys").fieldNames())) {
            assertFalse(key.contains("embed_tokens") || key.contains("lm_head"), key);
        }
        for (String name : List.of(EMBED, HEAD)) {
            JsonNode m = res.get("vocab").get(name);
            assertEquals(0, m.get("rank").asInt(), name);
            assertEquals(0.0, m.get("merged_minus_base_max_rel").asDouble(), 0.0, name + " is the base's after the merge");
        }
        JsonNode prov = JSON.readTree(out.resolve("weightlab_provenance.json").toFile());
        assertEquals(0, prov.get("run").get("include").size());
        for (JsonNode row : prov.get("modules")) assertTrue(row.get("module").asText().contains(".layers."), row.toString());
    }

    @Test
    void aMisspelledIncludeIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) {
        Path out = tmp.resolve("adapter");
        Cli.Run r = Cli.run("extract-lora", models.resolve("vft").toString(), "--base", models.resolve("base").toString(), "--out", out.toString(),
                "--include", "embedings,head");
        assertEquals(2, r.exit(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--include takes embeddings, head; not 'embedings'"), r.err());
        assertFalse(Files.exists(out), "nothing written");
    }

    static List<Integer> shape(JsonNode keys, String key) {
        List<Integer> s = new ArrayList<>();
        if (keys.has(key)) keys.get(key).forEach(n -> s.add(n.asInt()));
        return s;
    }

    static List<String> texts(JsonNode array) {
        List<String> s = new ArrayList<>();
        array.forEach(n -> s.add(n.asText()));
        return s;
    }

    static List<String> iter(java.util.Iterator<String> it) {
        List<String> s = new ArrayList<>();
        it.forEachRemaining(s::add);
        return s;
    }
}
