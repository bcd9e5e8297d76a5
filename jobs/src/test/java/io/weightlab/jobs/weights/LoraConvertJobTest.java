package io.weightlab.jobs.weights;

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
 * {@code weightlab lora-convert} against PEFT's own conversion (save_pretrained with
 * path_initial_model_for_weight_conversion) of the same trained PiSSA adapter: identical tensors and config, and the
 * converted rank-2r LoRA on the original base reproduces the trained model (docs/algorithms.md §4).
 */
public class LoraConvertJobTest {
    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "transformers", "peft", "safetensors");
    }

    @Test
    void convertedPissaAdapterEqualsPeftsConversionAndReproducesTheTrainedModel(@TempDir Path tmp) throws IOException {
        Path llama = RescaleJobTest.llama(tmp, "float32");
        Path init = tmp.resolve("init");
        Cli.Run r = Cli.run("lora-init", llama.toString(), "--out", init.toString(), "--method", "pissa", "--r", "8", "--alpha", "16",
                "--target-modules", "q_proj,v_proj,down_proj", "--rank-pattern", "down_proj=4", "--task-type", "CAUSAL_LM");
        assertEquals(0, r.exit(), r.err());
        Path trained = tmp.resolve("trained"), peftConv = tmp.resolve("peft-converted"), ours = tmp.resolve("ours");
        String script = Python.testScript("lora_convert_check.py").toString();
        Python.script(Path.of(script), "train", llama.toString(), init.toString(), trained.toString(), peftConv.toString());

        Cli.Run c = Cli.run("lora-convert", trained.toString(), "--initial", init.resolve("adapter").toString(), "--out", ours.toString());
        assertEquals(0, c.exit(), c.err());
        assertTrue(Files.exists(ours.resolve("_SUCCESS")));
        JsonNode j = new ObjectMapper().readTree(Python.script(Path.of(script), "check", llama.toString(), init.toString(),
                trained.toString(), peftConv.toString(), ours.toString()));
        assertTrue(j.get("same_keys").asBoolean(), j.toString());
        assertEquals(0.0, j.get("tensors_max_abs_diff").asDouble(), 0.0, "concatenation and negation are exact: same bytes as PEFT");
        assertEquals(0, j.get("config_diff").size(), "r, lora_alpha, patterns as PEFT writes them: " + j);
        assertEquals(llama.toString(), j.get("base_model_name_or_path").asText(), "points at the original base");
        assertEquals(0.0, j.get("reproduce_rel_err").asDouble(), 1e-5, "base + converted LoRA == residual + trained adapter (fp32)");

        // The initial adapter of another run (different modules) is refused, and nothing is written.
        Path other = tmp.resolve("other");
        assertEquals(0, Cli.run("lora-init", llama.toString(), "--out", other.toString(), "--method", "pissa", "--r", "8",
                "--target-modules", "q_proj").exit());
        Cli.Run bad = Cli.run("lora-convert", trained.toString(), "--initial", other.resolve("adapter").toString(), "--out", tmp.resolve("bad").toString());
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("SameModules") && bad.err().contains("down_proj"), bad.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
    }
}
