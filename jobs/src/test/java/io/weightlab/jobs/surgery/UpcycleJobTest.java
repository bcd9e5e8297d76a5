package io.weightlab.jobs.surgery;

import io.weightlab.jobs.Cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
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
 * {@code weightlab upcycle} (issue #9), checked with transformers on a synthetic LLaMA (F32): the Mixtral and Qwen2-MoE outputs
 * loads with no missing or unexpected key; the oracles of docs/algorithms.md §6.3 hold on the tensors; and the MoE
 * computes the dense model's logits: exactly (to float32 rounding) for plain replication with SiLU, and for
 * granularity 2 with a ReLU GLU (positively homogeneous, so the G^(1/3) scaling is exact).
 */
public class UpcycleJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "safetensors", "transformers");
    }

    static Path dense(Path tmp, String act) throws IOException {
        Path cfg = tmp.resolve(act + "-config.json");
        Files.writeString(cfg, """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "%s", "hidden_size": 64,
                 "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
                 "vocab_size": 1024, "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "tie_word_embeddings": false}""".formatted(act));
        Path out = tmp.resolve("dense-" + act);
        Cli.Run r = Cli.run("synth", "--model-config", cfg.toString(), "--out", out.toString(), "--dtype", "F32", "--seed", "5");
        assertEquals(0, r.exit(), r.err());
        return out;
    }

    static JsonNode check(Path dense, Path moe, int g) throws IOException {
        return JSON.readTree(Python.script(Python.testScript("upcycle_check.py"), dense.toString(), moe.toString(), String.valueOf(g)));
    }

    @Test
    void upcycledMixtralComputesTheDenseFunction(@TempDir Path tmp) throws IOException {
        Path silu = dense(tmp, "silu");
        Path rep = tmp.resolve("replicated");
        Cli.Run r = Cli.run("upcycle", silu.toString(), "--out", rep.toString(), "--experts", "4", "--granularity", "1", "--top-k", "2");
        assertEquals(0, r.exit(), r.err());
        JsonNode c = check(silu, rep, 1);
        assertEquals("MixtralForCausalLM", c.get("class").asText());
        assertEquals(0, c.get("missing").size() + c.get("unexpected").size(), c.toString());
        assertTrue(c.get("shards_reassemble_dense").asBoolean());
        assertTrue(c.get("router_rows_shared_in_groups").asBoolean());
        // identical experts whose top-k weights sum to 1: the dense output, up to float32 summation order
        assertEquals(0.0, c.get("max_abs_logit_diff").asDouble(), 1e-5 * c.get("max_abs_logit").asDouble(), c.toString());

        Path relu = dense(tmp, "relu");
        Path grouped = tmp.resolve("grouped");
        r = Cli.run("upcycle", relu.toString(), "--out", grouped.toString(), "--experts", "4", "--granularity", "2", "--top-k", "2");
        assertEquals(0, r.exit(), r.err());
        c = check(relu, grouped, 2);
        assertEquals(0, c.get("missing").size() + c.get("unexpected").size(), c.toString());
        assertTrue(c.get("shards_reassemble_dense").asBoolean(), "group 0's shards / 2^(1/3) reassemble gate, up and down");
        assertTrue(c.get("router_rows_shared_in_groups").asBoolean(), "router rows identical within a group, different across");
        assertEquals(0.0, c.get("max_abs_logit_diff").asDouble(), 1e-5 * c.get("max_abs_logit").asDouble(), c.toString());

        // Qwen2-MoE naming: zero q/k/v biases added, a shared expert that adds nothing yet, renormalised top-k.
        for (int g : new int[] {1, 2}) {
            Path src = g == 1 ? silu : relu, q = tmp.resolve("qwen-" + g);
            r = Cli.run("upcycle", src.toString(), "--out", q.toString(), "--experts", "4", "--granularity", String.valueOf(g), "--top-k", "2",
                    "--target", "qwen2_moe");
            assertEquals(0, r.exit(), r.err());
            c = check(src, q, g);
            assertEquals("Qwen2MoeForCausalLM", c.get("class").asText());
            assertEquals(0, c.get("missing").size() + c.get("unexpected").size(), c.toString());
            assertTrue(c.get("shards_reassemble_dense").asBoolean() && c.get("router_rows_shared_in_groups").asBoolean(), c.toString());
            assertEquals(0.0, c.get("max_abs_logit_diff").asDouble(), 1e-5 * c.get("max_abs_logit").asDouble(), "qwen2_moe G=" + g + ": " + c);
        }

        // top-k must select whole groups; nothing is written for a refused plan
        Cli.Run bad = Cli.run("upcycle", relu.toString(), "--out", tmp.resolve("bad").toString(), "--experts", "4", "--granularity", "2", "--top-k", "1");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("WholeGroups"), bad.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
    }
}
