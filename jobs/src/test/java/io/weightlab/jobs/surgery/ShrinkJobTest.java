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
 * {@code weightlab shrink} (issue #9) on a synthetic LLaMA teacher: the student loads in transformers with the
 * expected shapes, and every value matches numpy's closed-form index rule, for divisible and non-divisible sizes.
 */
public class ShrinkJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "safetensors", "transformers");
    }

    @Test
    void weightSelectionFollowsTheIndexRuleAndLoads(@TempDir Path tmp) throws IOException {
        Path teacher = tmp.resolve("teacher");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", teacher.toString(), "--dtype", "F32", "--seed", "3").exit());
        Path student = tmp.resolve("student");
        Cli.Run r = Cli.run("shrink", teacher.toString(), "--out", student.toString(), "--set", "num_hidden_layers=2", "--set", "hidden_size=128",
                "--set", "intermediate_size=300", "--set", "num_attention_heads=4", "--set", "num_key_value_heads=2", "--max-shard-size", "1MB");
        assertEquals(0, r.exit(), r.err());
        JsonNode c = JSON.readTree(Python.script(Python.testScript("shrink_check.py"), teacher.toString(), student.toString()));
        assertEquals(0, c.get("missing").size() + c.get("unexpected").size(), c.toString());
        assertTrue(c.get("finite").asBoolean());
        assertEquals(0, c.get("mismatched_values").size(), "floor(i*D/S) per dimension: " + c.get("mismatched_values"));
        assertEquals(2 * 9 + 3, c.get("tensors").asInt());
        assertEquals("[300,128]", c.get("shapes").get("model.layers.1.mlp.gate_proj.weight").toString(), "688 -> 300: not divisible");
        assertEquals("[128,128]", c.get("shapes").get("model.layers.0.self_attn.q_proj.weight").toString());
        assertEquals("[64,128]", c.get("shapes").get("model.layers.0.self_attn.k_proj.weight").toString());
        assertTrue(Files.exists(student.resolve("model.safetensors.index.json")));
        assertEquals(2, JSON.readTree(student.resolve("config.json").toFile()).get("num_hidden_layers").asInt());

        Cli.Run bigger = Cli.run("shrink", teacher.toString(), "--out", tmp.resolve("bigger").toString(), "--set", "hidden_size=512");
        assertEquals(2, bigger.exit());
        assertTrue(bigger.err().contains("StudentNotLarger"), bigger.err());
        assertFalse(Files.exists(tmp.resolve("bigger")));
    }

    @Test
    void subcloningRanksByImportanceAndIsAPermutationWhenNothingIsRemoved(@TempDir Path tmp) throws IOException {
        Path teacher = tmp.resolve("teacher");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", teacher.toString(), "--dtype", "F32", "--seed", "4").exit());
        String script = Python.testScript("subclone_check.py").toString();

        // d = D, all layers: a permutation of the residual stream and of every FFN, the same function.
        Path perm = tmp.resolve("perm");
        Cli.Run r = Cli.run("shrink", teacher.toString(), "--out", perm.toString(), "--method", "subclone", "--set", "hidden_size=256");
        assertEquals(0, r.exit(), r.err());
        JsonNode p = JSON.readTree(Python.script(Path.of(script), "perm", teacher.toString(), perm.toString()));
        assertEquals(0.0, p.get("max_abs_logit_diff").asDouble(), 1e-5 * p.get("max_abs_logit").asDouble(), p.toString());

        // Narrower and shallower, importance from the weight-norm proxy: numpy's rankings and index maps.
        Path small = tmp.resolve("small");
        r = Cli.run("shrink", teacher.toString(), "--out", small.toString(), "--method", "subclone", "--set", "hidden_size=192",
                "--set", "intermediate_size=512", "--set", "num_hidden_layers=3");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("weight-norm proxy"), "the proxy is labelled: " + r.out());
        JsonNode c = JSON.readTree(Python.script(Path.of(script), "proxy", teacher.toString(), small.toString()));
        assertEquals("[0,2,3]", c.get("keep").toString(), "first and last block kept");
        assertEquals(0, c.get("mismatched").size(), c.toString());
        JsonNode loads = JSON.readTree(Python.script(Python.testScript("shrink_check.py"), teacher.toString(), small.toString()));
        assertEquals(0, loads.get("missing").size() + loads.get("unexpected").size(), loads.toString());

        // From activation statistics whose E[x²] ranks hidden dims in reverse and FFN neurons in order.
        Path act = tmp.resolve("act.safetensors");
        Python.script(Path.of(script), "stats", act.toString(), "256", "688", "4");
        Path fromStats = tmp.resolve("stats");
        r = Cli.run("shrink", teacher.toString(), "--out", fromStats.toString(), "--method", "subclone", "--activations", act.toString(),
                "--set", "hidden_size=192", "--set", "intermediate_size=512", "--set", "num_hidden_layers=3");
        assertEquals(0, r.exit(), r.err());
        c = JSON.readTree(Python.script(Path.of(script), "fromstats", teacher.toString(), fromStats.toString()));
        assertEquals(0, c.get("mismatched").size(), c.toString());
    }
}
