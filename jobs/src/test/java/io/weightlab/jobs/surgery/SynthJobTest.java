package io.weightlab.jobs.surgery;

import io.weightlab.jobs.Cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab synth} (issue #8) checked with transformers and scipy: every preset loads in its HF class with
 * no missing, unexpected or mismatched key and runs a forward pass; each tensor's std is the configured one at its
 * depth; scipy's gennorm.fit recovers the configured shape β; values do not depend on the sharding.
 */
public class SynthJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "scipy", "torch", "safetensors", "transformers");
    }

    static JsonNode check(Path out, Path... other) {
        String[] args = other.length == 0 ? new String[] {out.toString()} : new String[] {out.toString(), other[0].toString()};
        try {
            return JSON.readTree(Python.script(Python.testScript("synth_check.py"), args));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void llamaPresetLoadsInTransformersWithTheConfiguredStdAndShapePerKind(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("tiny");
        Cli.Run r = Cli.run("synth", "--preset", "llama-tiny", "--out", out.toString(), "--seed", "7", "--kind", "mlp_down=1.2:0.03",
                "--depth-slope", "1.0");
        assertEquals(0, r.exit(), r.err());
        JsonNode c = check(out);
        assertEquals("LlamaForCausalLM", c.get("class").asText());
        assertEquals(0, c.get("missing").size(), c.get("missing").toString());
        assertEquals(0, c.get("unexpected").size(), c.get("unexpected").toString());
        assertEquals(0, c.get("mismatched").size(), c.get("mismatched").toString());
        assertTrue(c.get("logits_finite").asBoolean());
        assertEquals(4 * 9 + 3, c.get("count").asInt(), "embed, 4 x (2 norms, q, k, v, o, gate, up, down), norm, lm_head");

        // std_l = std·(1 + slope·l/(L−1)), L = 4; BF16 rounding and sampling: 2 % on ≥ 65k elements.
        Map<String, double[]> expected = Map.of(
                "model.layers.0.self_attn.q_proj.weight", new double[] {0.025, 0},
                "model.layers.3.self_attn.q_proj.weight", new double[] {0.05, 0},
                "model.layers.1.mlp.down_proj.weight", new double[] {0.03 * (1 + 1.0 / 3), 0},
                "model.layers.2.input_layernorm.weight", new double[] {0.05 * (1 + 2.0 / 3), 1.0},
                "model.embed_tokens.weight", new double[] {0.015, 0});
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            JsonNode t = c.get("tensors").get(e.getKey());
            double tol = t.get("n").asLong() >= 65536 ? 0.02 : 0.15; // a 256-element norm vector: sampling error of its std ~ 5 %
            assertEquals(e.getValue()[0], t.get("std").asDouble(), tol * e.getValue()[0], e.getKey() + " std");
            assertEquals(e.getValue()[1], t.get("mean").asDouble(), 4 * e.getValue()[0] / Math.sqrt(t.get("n").asDouble()), e.getKey() + " mean");
            assertEquals("torch.bfloat16", t.get("dtype").asText());
        }
        // scipy's MLE of β on 200k-element samples of the largest tensor per kind: within 5 % of the configured shape.
        Map<String, Double> beta = Map.of("attn_q", 1.3, "attn_k", 1.2, "mlp_down", 1.2, "mlp_up", 1.95, "embedding", 1.6, "lm_head", 1.8);
        for (Map.Entry<String, Double> e : beta.entrySet()) {
            assertEquals(e.getValue(), c.get("fits").get(e.getKey()).get("beta").asDouble(), 0.05 * e.getValue(), e.getKey() + " beta");
        }
    }

    @Test
    void moePresetsLoadInMixtralAndQwen2MoeAndValuesDoNotDependOnSharding(@TempDir Path tmp) throws IOException {
        for (String preset : new String[] {"mixtral-tiny", "qwen2-moe-tiny"}) {
            Path one = tmp.resolve(preset), many = tmp.resolve(preset + "-sharded");
            assertEquals(0, Cli.run("synth", "--preset", preset, "--out", one.toString()).exit());
            Cli.Run r = Cli.run("synth", "--preset", preset, "--out", many.toString(), "--max-shard-size", "200KB");
            assertEquals(0, r.exit(), r.err());
            assertTrue(Files.exists(many.resolve("model.safetensors.index.json")));
            long shards;
            try (Stream<Path> s = Files.list(many)) {
                shards = s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
            }
            assertTrue(shards > 3, preset + ": " + shards + " shards");
            JsonNode c = check(many, one);
            assertEquals(preset.startsWith("mixtral") ? "MixtralForCausalLM" : "Qwen2MoeForCausalLM", c.get("class").asText());
            assertEquals(0, c.get("missing").size() + c.get("unexpected").size() + c.get("mismatched").size(), c.toString().substring(0, 400));
            assertTrue(c.get("logits_finite").asBoolean());
            assertTrue(c.get("identical").asBoolean(), preset + ": 1 shard and many shards hold the same values");
        }
    }

    @Test
    void badConfigsFailWithAClearMessageAndWriteNothing(@TempDir Path tmp) throws IOException {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"model_type\": \"bert\", \"hidden_size\": 64}");
        Cli.Run r = Cli.run("synth", "--model-config", cfg.toString(), "--out", tmp.resolve("a").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("config.json") && r.err().contains("model_type 'bert'"), r.err());
        Files.writeString(cfg, "{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 10}");
        r = Cli.run("synth", "--model-config", cfg.toString(), "--out", tmp.resolve("b").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("num_attention_heads"), r.err());
        r = Cli.run("synth", "--preset", "llama-tiny", "--kind", "attn_q=oops", "--out", tmp.resolve("c").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("KIND=BETA:STD"), r.err());
        r = Cli.run("synth", "--preset", "llama-huge", "--out", tmp.resolve("d").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("llama-8b"), r.err());
        for (String d : new String[] {"a", "b", "c", "d"}) assertFalse(Files.exists(tmp.resolve(d).resolve(StagedOutput.SUCCESS)));
        for (String d : new String[] {"a", "b", "c", "d"}) assertFalse(Files.exists(tmp.resolve(d)), d + ": nothing written");
    }
}
