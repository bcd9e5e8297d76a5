package io.weightlab.jobs.federated;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.weights.RescaleJobTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab fedavg} over real PEFT adapters (saved by PEFT's save_pretrained on a small Llama), checked with
 * numpy (fed_lora_check.py) and loaded back by PEFT: stacking reproduces Σ p_k s_k B_k A_k, the SVD re-factorisation
 * reaches the optimal rank-r error with heterogeneous client ranks, FedIT is numpy's separate averages, and the
 * LoRA-FAIR-style residual is never above FedIT's.
 */
public class FedLoraJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "transformers", "peft", "safetensors");
    }

    static JsonNode round(Path llama, Path clients, Path out, String method) throws IOException {
        Cli.Run r = Cli.run("fedavg", "--manifest", clients.resolve("manifest.json").toString(), "--out", out.toString(), "--method", method);
        assertEquals(0, r.exit(), r.err());
        return JSON.readTree(Python.script(Python.testScript("fed_lora_check.py"), "check", llama.toString(), clients.toString(), out.toString(), method));
    }

    @Test
    void loraRoundsMatchNumpyAndLoadInPeft(@TempDir Path tmp) throws IOException {
        Path llama = RescaleJobTest.llama(tmp, "float32");
        String make = Python.testScript("fed_lora_check.py").toString();
        Path hetero = tmp.resolve("hetero"), same = tmp.resolve("same");
        Python.script(Path.of(make), "make", llama.toString(), hetero.toString(), "3", "--ranks", "8,4,6");
        Python.script(Path.of(make), "make", llama.toString(), same.toString(), "3");

        JsonNode st = round(llama, hetero, tmp.resolve("stack"), "stack");
        assertEquals(0.0, st.get("value").asDouble(), 1e-6, "stacking: s'·B'A' == Σ p_k s_k B_k A_k (ranks 8+4+6, F32 factors)");
        JsonNode sv = round(llama, hetero, tmp.resolve("svd"), "svd");
        assertEquals(0.0, sv.get("value").asDouble(), 1e-6, "SVD re-factorisation to rank 8: error == optimal rank-8 error");
        JsonNode fi = round(llama, same, tmp.resolve("fedit"), "fedit");
        assertEquals(0.0, fi.get("value").asDouble(), 1e-8, "FedIT: numpy's Σ p_k A_k and Σ p_k B_k");
        JsonNode lf = round(llama, same, tmp.resolve("fair"), "lora-fair");
        assertTrue(lf.get("value").asDouble() <= 1.0, "LoRA-FAIR residual <= FedIT residual: " + lf);
        for (JsonNode j : new JsonNode[] {st, sv, fi, lf}) {
            assertEquals(0.0, j.get("peft_merge_rel_err").asDouble(), 1e-5, "PEFT loads the aggregate; merge adds s·B·A: " + j);
            assertEquals(0.0, j.get("report_residual_diff").asDouble(), 1e-5, "the report's relative residual against numpy: " + j);
        }
        JsonNode report = JSON.readTree(tmp.resolve("fair").resolve(FedAvgJob.REPORT).toFile());
        JsonNode m0 = report.get("modules").get(0);
        assertTrue(m0.get("relative_residual").asDouble() <= m0.get("fedit_relative_residual").asDouble(), m0.toString());

        Path merged = tmp.resolve("stack-merged");
        Cli.Run mr = Cli.run("fedavg", "--manifest", hetero.resolve("manifest.json").toString(), "--out", merged.toString(), "--method", "stack",
                "--merge-into", llama.toString());
        assertEquals(0, mr.exit(), mr.err());
        JsonNode mj = JSON.readTree(Python.script(Path.of(make), "merged", llama.toString(), merged.toString()));
        assertEquals(0.0, mj.get("merged_vs_peft_rel").asDouble(), 1e-6, "merged/ == PEFT's merge_and_unload of the stacked adapter onto the base");

        Cli.Run hetFedit = Cli.run("fedavg", "--manifest", hetero.resolve("manifest.json").toString(), "--out", tmp.resolve("bad").toString(),
                "--method", "fedit");
        assertEquals(2, hetFedit.exit());
        assertTrue(hetFedit.err().contains("SameRank"), hetFedit.err());
    }
}
