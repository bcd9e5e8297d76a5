package io.weightlab.jobs.weights;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.CliTest;

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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab lora-init} on the real all-MiniLM-L6-v2 fixture, checked with real PEFT (offline wheel): PEFT
 * loads our adapter onto our residual and merging gives back the base; PEFT's own pissa/olora give the same s·B·A;
 * the oracles of docs/algorithms.md §3.1–3.3 (‖W_res‖₂ = σ_{r+1}, AAᵀ = diag(σ_r/s), MiLoRA keeps the top spectrum).
 */
public class LoraInitJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "transformers", "peft", "safetensors");
    }

    static JsonNode run(Path out, String method) throws IOException {
        Path base = Fixtures.dir("all-minilm-l6-v2");
        Cli.Run r = Cli.run("lora-init", base.toString(), "--out", out.toString(), "--method", method, "--r", "8", "--alpha", "16",
                "--target-modules", "query,value");
        assertEquals(0, r.exit(), r.err());
        return JSON.readTree(Python.script(Python.testScript("peft_check.py"), base.toString(), out.toString(), method, "8", "16", "query,value"));
    }

    @Test
    void pissaLoadsInPeftReproducesTheBaseAndMatchesPeftsOwnInit(@TempDir Path tmp) throws IOException {
        JsonNode c = run(tmp.resolve("pissa"), "pissa");
        assertEquals(0.0, c.get("merged_rel_err").asDouble(), 1e-5, "W_res + s·B·A == W in fp32");
        assertEquals(0.0, c.get("peft_same_rel_diff").asDouble(), 1e-4, "PEFT's fp32 pissa gives the same s·B·A");
        assertEquals(0.0, c.get("spectral_rel_err").asDouble(), 1e-6, "‖W_res‖₂ == σ_{r+1}");
        assertEquals(0.0, c.get("aat_diag_rel_err").asDouble(), 1e-6, "AAᵀ == diag(σ_r/s)");
        JsonNode cfg = JSON.readTree(tmp.resolve("pissa/adapter/adapter_config.json").toFile());
        assertTrue(cfg.get("init_lora_weights").asBoolean(), "PEFT must not re-decompose on load");
        assertEquals(tmp.resolve("pissa/residual").toString(), cfg.get("base_model_name_or_path").asText());
    }

    /** The randomized sketch reads F32 straight into float32 (no double copy); PEFT's own sketch is the yardstick. */
    @Test
    void pissaNiterReproducesTheBaseAndSketchesAsWellAsPeft(@TempDir Path tmp) throws IOException {
        JsonNode c = run(tmp.resolve("niter"), "pissa_niter_4");
        assertEquals(0.0, c.get("merged_rel_err").asDouble(), 1e-5, "W_res + s·B·A == W in fp32");
        double ours = c.get("sketch_rel_err").asDouble(), peft = c.get("peft_sketch_rel_err").asDouble();
        // ‖W_res‖₂ ≥ σ_{r+1} always; the sketch's excess is its own error, the same algorithm as PEFT's (another Ω)
        assertTrue(ours >= -1e-6, "‖W_res‖₂ below σ_{r+1}: " + ours);
        assertTrue(ours <= 2 * peft + 1e-3, "our sketch " + ours + " vs PEFT's " + peft);
    }

    /** NaN/Inf in a targeted W: both the float32 path (pissa_niter) and the double path (pissa) refuse it, nothing written. */
    @Test
    void nonFiniteWeightFailsNamingTheTensorOnBothPaths(@TempDir Path tmp) throws IOException {
        Path nan = CliTest.nanFile(tmp);
        for (String method : new String[] {"pissa_niter_4", "pissa"}) {
            Path out = tmp.resolve(method);
            Cli.Run r = Cli.run("lora-init", nan.toString(), "--out", out.toString(), "--method", method, "--r", "1", "--target-modules", "up_proj");
            assertEquals(2, r.exit(), method + ": " + r.err());
            assertTrue(r.err().contains("nan.safetensors") && r.err().contains("model.layers.0.mlp.up_proj.weight") && r.err().contains("FiniteValues"),
                    method + ": " + r.err());
            assertFalse(Files.exists(out), method + ": no partial output");
        }
    }

    @Test
    void miloraKeepsTheTopSpectrumAndOloraMatchesPeft(@TempDir Path tmp) throws IOException {
        JsonNode m = run(tmp.resolve("milora"), "milora");
        assertEquals(0.0, m.get("merged_rel_err").asDouble(), 1e-5);
        assertEquals(0.0, m.get("minor_kept_rel_err").asDouble(), 1e-6, "W_res keeps the top min(m,n)-r singular values");
        JsonNode o = run(tmp.resolve("olora"), "olora");
        assertEquals(0.0, o.get("merged_rel_err").asDouble(), 1e-5);
        assertEquals(0.0, o.get("peft_same_rel_diff").asDouble(), 1e-4, "PEFT's olora gives the same s·B·A");
    }

    @Test
    void plainLoraLeavesTheBaseAndBadRankIsRefused(@TempDir Path tmp) throws IOException {
        JsonNode k = run(tmp.resolve("kaiming"), "kaiming");
        assertEquals(0.0, k.get("merged_rel_err").asDouble(), 0.0, "B = 0: merging changes nothing");
        assertFalse(Files.exists(tmp.resolve("kaiming/residual")), "no residual for a method that keeps the base");
        Cli.Run bad = Cli.run("lora-init", Fixtures.dir("all-minilm-l6-v2").toString(), "--out", tmp.resolve("bad").toString(),
                "--r", "500", "--target-modules", "query");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("encoder.layer.0.attention.self.query.weight") && bad.err().contains("rank 500"), bad.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
    }

    @Test
    void rankByEnergyChoosesNumpysRanksAndHonoursTheBudget(@TempDir Path tmp) throws IOException {
        Path base = Fixtures.dir("all-minilm-l6-v2");
        Path spec = tmp.resolve("spectrum");
        assertEquals(0, Cli.run("spectrum", base.toString(), "--out", spec.toString()).exit());
        Path free = tmp.resolve("free"), tight = tmp.resolve("tight");
        Cli.Run r = Cli.run("lora-init", base.toString(), "--out", free.toString(), "--method", "pissa", "--r", "8", "--target-modules", "query,value",
                "--rank-by-energy", "0.5", "--spectrum", spec.toString(), "--rank-budget", "10000");
        assertEquals(0, r.exit(), r.err());
        JsonNode f = JSON.readTree(Python.script(Python.testScript("lora_data_check.py"), "energy", base.resolve("model.safetensors").toString(),
                free.toString(), "0.5"));
        assertEquals(f.get("expected"), f.get("written"), "smallest r with Σ_{i<=r} σ_i² >= 0.5 Σ σ² (numpy SVD), per module");
        assertTrue(f.get("shapes_ok").asBoolean());
        int unconstrained = 0;
        for (JsonNode v : f.get("written")) unconstrained += v.asInt();
        assertTrue(unconstrained > 96, "the test needs the budget to bind: " + unconstrained);

        r = Cli.run("lora-init", base.toString(), "--out", tight.toString(), "--method", "pissa", "--r", "8", "--target-modules", "query,value",
                "--rank-by-energy", "0.5", "--spectrum", spec.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode t = JSON.readTree(Python.script(Python.testScript("lora_data_check.py"), "energy", base.resolve("model.safetensors").toString(),
                tight.toString(), "0.5"));
        int sum = 0;
        for (var it = t.get("written").fields(); it.hasNext(); ) {
            var e = it.next();
            sum += e.getValue().asInt();
            assertTrue(e.getValue().asInt() >= 1 && e.getValue().asInt() <= f.get("written").get(e.getKey()).asInt(), e.toString());
        }
        assertEquals(8 * 12, sum, "the default budget is r x modules");
        JsonNode peft = JSON.readTree(Python.script(Python.testScript("peft_check.py"), base.toString(), tight.toString(), "by-energy", "8", "8", "query,value"));
        assertEquals(0.0, peft.get("merged_rel_err").asDouble(), 1e-5, "PEFT loads per-module ranks from rank_pattern; residual + s·B·A == W");
    }

    @Test
    void gpt2Conv1dWeightsGetFanInFanOutAndMatchPeft(@TempDir Path tmp) throws IOException {
        Path base = tmp.resolve("gpt2"), out = tmp.resolve("out");
        String script = Python.testScript("gpt2_lora_check.py").toString();
        Python.script(Path.of(script), "make", base.toString());
        Cli.Run r = Cli.run("lora-init", base.toString(), "--out", out.toString(), "--method", "pissa", "--r", "8", "--alpha", "16",
                "--target-modules", "c_attn,c_proj");
        assertEquals(0, r.exit(), r.err());
        JsonNode c = JSON.readTree(Python.script(Path.of(script), "check", base.toString(), out.toString(), "pissa", "8", "16", "c_attn,c_proj"));
        assertTrue(c.get("fan_in_fan_out").asBoolean(), "detected from config.json (model_type gpt2)");
        assertEquals(0.0, c.get("merged_rel_err").asDouble(), 1e-5, "residual stored [in, out] + s·(BA)ᵀ == W");
        assertEquals(0.0, c.get("peft_same_rel_diff").asDouble(), 1e-4, "PEFT's pissa with fan_in_fan_out gives the same s·B·A");
        Cli.Run olora = Cli.run("lora-init", base.toString(), "--out", tmp.resolve("olora").toString(), "--method", "olora",
                "--target-modules", "c_attn");
        assertEquals(2, olora.exit());
        assertTrue(olora.err().contains("Conv1D"), olora.err());
    }
}
