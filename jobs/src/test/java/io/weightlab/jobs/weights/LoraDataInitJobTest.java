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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data-driven LoRA inits end to end: a real (random-weight) Llama, activation statistics and gradients collected
 * by the shipped helper {@code tools/weightlab_collect.py} from a token dataset, {@code weightlab lora-init}, and the
 * oracles of docs/algorithms.md §3.5–3.7 checked with numpy and real PEFT ({@code lora_data_check.py}): EVA's ranks sum to
 * the budget and its A spans the top principal subspace of numpy's covariance of the same activations; LoRA-GA
 * matches PEFT's own lora_ga on the same gradients and reproduces the base through the residual; LoRA-SB's product
 * is the optimal rank-r approximation of −η·sign(G).
 */
public class LoraDataInitJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int MODULES = 28; // all-linear of the 4-block Llama: 7 per block

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "transformers", "peft", "safetensors");
    }

    /** 24 token sequences of 20–63 ids, reproducible. */
    static Path tokens(Path dir) throws IOException {
        Random rnd = new Random(1);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            int len = 20 + rnd.nextInt(44);
            StringBuilder sb = new StringBuilder("[");
            for (int j = 0; j < len; j++) sb.append(j == 0 ? "" : ", ").append(rnd.nextInt(1000));
            lines.add(sb.append("]").toString());
        }
        return Files.write(dir.resolve("ids.jsonl"), lines);
    }

    static Path collect(String what, Path model, Path ids, Path out) {
        Python.script(Python.tool("weightlab_collect.py"), what, model.toString(), out.toString(), "--target-modules", "all-linear",
                "--token-ids", ids.toString());
        return out;
    }

    static JsonNode check(String... args) throws IOException {
        return JSON.readTree(Python.script(Python.testScript("lora_data_check.py"), args));
    }

    static void lora(String... args) {
        Cli.Run r = Cli.run(args);
        assertEquals(0, r.exit(), r.err());
    }

    @Test
    void evaRedistributesRanksAndSpansTheTopPrincipalSubspace(@TempDir Path tmp) throws IOException {
        Path llama = RescaleJobTest.llama(tmp, "float32"), ids = tokens(tmp);
        Path stats = collect("activations", llama, ids, tmp.resolve("act.safetensors"));
        Path out = tmp.resolve("eva");
        lora("lora-init", llama.toString(), "--out", out.toString(), "--method", "eva", "--r", "8", "--alpha", "16",
                "--target-modules", "all-linear", "--activations", stats.toString());
        JsonNode c = check("eva", llama.toString(), out.toString(), ids.toString(), "8", "16", "2", String.valueOf(MODULES));
        assertEquals(c.get("budget").asInt(), c.get("rank_sum").asInt(), "Σ new ranks == Σ original ranks");
        assertTrue(c.get("max_rank").asInt() <= c.get("rank_cap").asInt(), "every rank <= round(r·ρ)");
        assertTrue(c.get("max_rank").asInt() > 8 && c.get("modules").asInt() < MODULES, "ranks really moved: " + c);
        assertEquals(0.0, c.get("alpha_ratio_err").asDouble(), 1e-12, "α_l/r_l == α/r");
        assertEquals(0, c.get("shape_mismatch").asInt(), "lora_A rows == rank_pattern");
        assertEquals(0.0, c.get("b_max_abs").asDouble(), 0.0, "B = 0");
        assertEquals(0.0, c.get("aat_err").asDouble(), 1e-6, "rows of A orthonormal (fp32)");
        assertEquals(0.0, c.get("projector_vs_numpy").asDouble(), 1e-5, "span(A) == numpy's top eigenvectors of the covariance");
        assertEquals(0.0, c.get("merged_rel_err").asDouble(), 0.0, "PEFT loads it; the base is unchanged");
    }

    @Test
    void loraGaMatchesPeftAndTheOriginalScaleAndLoraSbIsTheOptimalTruncation(@TempDir Path tmp) throws IOException {
        Path llama = RescaleJobTest.llama(tmp, "float32"), ids = tokens(tmp);
        Path grads = collect("gradients", llama, ids, tmp.resolve("grad.safetensors"));
        // r = 64: PEFT's svd_lowrank(q = min(4r, 256)) is then exact, so PEFT's init is a reference.
        Path peft = tmp.resolve("ga-peft");
        lora("lora-init", llama.toString(), "--out", peft.toString(), "--method", "lora_ga", "--r", "64", "--alpha", "16",
                "--target-modules", "all-linear", "--gradients", grads.toString());
        JsonNode p = check("lora_ga", llama.toString(), peft.toString(), grads.toString(), "64", "16", "peft");
        assertEquals(0.0, p.get("merged_rel_err").asDouble(), 1e-5, "W_res + s·B·A == W (fp32)");
        assertEquals(0.0, p.get("span_a_vs_numpy").asDouble(), 1e-5, "span(A) == top-r right singular subspace of G");
        assertEquals(0.0, p.get("peft_ata_rel_diff").asDouble(), 1e-4, "PEFT's lora_ga: same AᵀA");
        assertEquals(0.0, p.get("peft_bbt_rel_diff").asDouble(), 1e-4, "PEFT's lora_ga: same BBᵀ (B = U·S·out^¼/√γ)");

        Path orig = tmp.resolve("ga-original");
        lora("lora-init", llama.toString(), "--out", orig.toString(), "--method", "lora_ga", "--r", "8", "--alpha", "16",
                "--target-modules", "all-linear", "--gradients", grads.toString(), "--init-param", "variant=original");
        JsonNode o = check("lora_ga", llama.toString(), orig.toString(), grads.toString(), "8", "16", "original");
        assertEquals(0.0, o.get("merged_rel_err").asDouble(), 1e-5);
        assertEquals(0.0, o.get("norm_a_rel_err").asDouble(), 1e-6, "original stable: ‖A‖_F = √r·out^¼/√γ");
        assertEquals(0.0, o.get("norm_b_rel_err").asDouble(), 1e-6, "original stable: ‖B‖_F = √r·out^¼/√γ");

        Path sb = tmp.resolve("sb");
        lora("lora-init", llama.toString(), "--out", sb.toString(), "--method", "lora_sb", "--r", "8", "--alpha", "16",
                "--target-modules", "all-linear", "--gradients", grads.toString(), "--init-param", "lr=2e-4",
                "--init-param", "warmup_ratio=0.02", "--init-param", "total_steps=1000");
        JsonNode s = check("lora_sb", llama.toString(), sb.toString(), grads.toString(), "8", "16", "1e-5");
        assertEquals(0.0, s.get("truncation_rel_err").asDouble(), 1e-5, "s·B'·A' == rank-r truncation of −η·sign(G), η = lr/(warmup·steps)");
        assertEquals(0.0, s.get("aat_err").asDouble(), 1e-6, "AAᵀ = I");
        assertEquals(0.0, s.get("merged_delta_rel_err").asDouble(), 1e-3, "PEFT loads it onto the unchanged base; merge adds s·B'·A'");
        assertFalse(Files.exists(sb.resolve("residual")), "LoRA-SB keeps the base");
    }

    @Test
    void missingOrMismatchedSignalsAreRefusedWithoutOutput(@TempDir Path tmp) throws IOException {
        Path llama = RescaleJobTest.llama(tmp, "float32");
        Cli.Run noGrad = Cli.run("lora-init", llama.toString(), "--out", tmp.resolve("a").toString(), "--method", "lora_ga",
                "--target-modules", "q_proj");
        assertEquals(2, noGrad.exit());
        assertTrue(noGrad.err().contains("--gradients"), noGrad.err());
        // The base itself as a "gradient" file for a different model: names match, so use a module the base lacks.
        Cli.Run wrong = Cli.run("lora-init", llama.toString(), "--out", tmp.resolve("b").toString(), "--method", "eva",
                "--target-modules", "q_proj", "--activations", llama.resolve("model.safetensors").toString());
        assertEquals(2, wrong.exit());
        assertTrue(wrong.err().contains("model.layers.0.self_attn.q_proj") && wrong.err().contains("ActivationStatsPresent"), wrong.err());
        Cli.Run noEta = Cli.run("lora-init", llama.toString(), "--out", tmp.resolve("c").toString(), "--method", "lora_sb",
                "--target-modules", "q_proj", "--gradients", llama.resolve("model.safetensors").toString());
        assertEquals(2, noEta.exit());
        assertTrue(noEta.err().contains("eta"), noEta.err());
        Cli.Run typo = Cli.run("lora-init", llama.toString(), "--out", tmp.resolve("d").toString(), "--method", "lora_ga",
                "--target-modules", "q_proj", "--gradients", llama.resolve("model.safetensors").toString(), "--init-param", "gama=4");
        assertEquals(2, typo.exit());
        assertTrue(typo.err().contains("gama"), typo.err());
        for (String d : List.of("a", "b", "c", "d")) assertFalse(Files.exists(tmp.resolve(d)), d + ": no output after a refused run");
    }
}
