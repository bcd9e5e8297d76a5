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
 * {@code weightlab grow} (issue #9): depth 4 → 6 and FFN width 688 → 1024 on a synthetic LLaMA (F32); transformers
 * gives the same logits before and after (function preserved), the source sits in the leading blocks, the output
 * side of new units is zero and their input side random.
 */
public class GrowJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "safetensors", "transformers");
    }

    @Test
    void growthPreservesTheFunction(@TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("src");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", src.toString(), "--dtype", "F32", "--seed", "9").exit());
        Path grown = tmp.resolve("grown");
        Cli.Run r = Cli.run("grow", src.toString(), "--out", grown.toString(), "--set", "num_hidden_layers=6", "--set", "intermediate_size=1024");
        assertEquals(0, r.exit(), r.err());
        JsonNode c = JSON.readTree(Python.script(Python.testScript("grow_check.py"), src.toString(), grown.toString()));
        assertEquals(0, c.get("missing").size() + c.get("unexpected").size(), c.toString());
        assertEquals(6, c.get("layers").asInt());
        assertEquals(1024, c.get("intermediate").asInt());
        assertTrue(c.get("source_in_leading_blocks").asBoolean());
        assertTrue(c.get("new_output_side_zero").asBoolean());
        assertTrue(c.get("new_input_side_random").asBoolean());
        assertEquals(0.0, c.get("max_abs_logit_diff").asDouble(), 1e-5 * c.get("max_abs_logit").asDouble(), "same function: " + c);

        Cli.Run wider = Cli.run("grow", src.toString(), "--out", tmp.resolve("wider").toString(), "--set", "vocab_size=512");
        assertEquals(2, wider.exit());
        assertTrue(wider.err().contains("FunctionPreserving"), wider.err());
        assertFalse(Files.exists(tmp.resolve("wider")));
    }
}
