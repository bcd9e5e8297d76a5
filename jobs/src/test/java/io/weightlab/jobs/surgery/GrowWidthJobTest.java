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
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lossless width growth (issue #23): hidden 64 → 96 with heads 4 → 6 (GQA 2 → 3 key-value heads) on a seeded
 * random Llama and on a tied Qwen2 with q/k/v biases, both made by transformers in float32; transformers gives the
 * same logits before and after (1e-5 relative to the largest logit). One torch SGD step moves every block of new
 * parameters and makes copied heads diverge. A 64 → 160 growth (two residual copies plus a residue) checks the
 * split reader weights and the tied head's 1/k. Refusals: one line, exit 2, nothing written.
 */
public class GrowWidthJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "safetensors", "transformers");
    }

    private static Path make(Path tmp, String name, String family, boolean tied) {
        Path dir = tmp.resolve(name);
        List<String> args = new ArrayList<>(List.of("make", dir.toString(), family));
        if (tied) args.add("--tied");
        Python.script(Python.testScript("grow_width_check.py"), args.toArray(String[]::new));
        return dir;
    }

    private static JsonNode grow(Path src, Path out, String... set) throws IOException {
        run(src, out, List.of(), set);
        return JSON.readTree(Python.script(Python.testScript("grow_width_check.py"), "check", src.toString(), out.toString()));
    }

    private static void run(Path src, Path out, List<String> options, String... set) {
        List<String> args = new ArrayList<>(List.of("grow", src.toString(), "--out", out.toString(), "--seed", "5"));
        args.addAll(options);
        for (String s : set) {
            args.add("--set");
            args.add(s);
        }
        Cli.Run r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
    }

    /** The job's logit probe next to transformers' float64 logits of the same two models on the same tokens. */
    private static JsonNode probe(Path src, Path out) throws IOException {
        return JSON.readTree(Python.script(Python.testScript("grow_width_check.py"), "probe", src.toString(), out.toString()));
    }

    private static void assertProbeIsTransformers(JsonNode p) {
        JsonNode ours = p.get("ours");
        double scale = p.get("max_abs_logit").asDouble();
        // both float64 forwards of the same stored weights with float32 rotary angles (as transformers computes
        // them): they differ by rounding order and an ulp of float32 in cos/sin, ~1e-7 of the largest logit
        assertEquals(scale, ours.get("max_abs_logit").asDouble(), 1e-6 * scale, "the source's logits: " + p);
        assertEquals(p.get("max_abs_logit_diff").asDouble(), ours.get("max_abs_logit_diff").asDouble(), 1e-6 * scale, p.toString());
        assertEquals(p.get("rel_l2_logit_diff").asDouble(), ours.get("rel_l2_logit_diff").asDouble(), 1e-6, p.toString());
        assertEquals(p.get("mean_kl").asDouble(), ours.get("mean_kl").asDouble(), 1e-12 + 1e-4 * p.get("mean_kl").asDouble(), p.toString());
        assertEquals(p.get("top1_agreement").asDouble(), ours.get("top1_agreement").asDouble(), 0.0, p.toString());
    }

    private static void assertLossless(JsonNode c, int hidden, int heads, int kv) {
        assertEquals(0, c.get("missing").size() + c.get("unexpected").size(), c.toString());
        assertEquals(hidden, c.get("hidden").asInt());
        assertEquals(heads, c.get("heads").asInt());
        assertEquals(kv, c.get("kv_heads").asInt(), "GQA group size 2 kept: " + c);
        assertTrue(c.get("max_abs_logit").asDouble() > 0.1, c.toString());
        assertEquals(0.0, c.get("max_abs_logit_diff").asDouble(), 1e-5 * c.get("max_abs_logit").asDouble(), "same function: " + c);
        // training breaks the symmetry: every block of new parameters moves, and copied heads stop being copies
        c.get("new_blocks_moved").fields().forEachRemaining(e -> assertTrue(e.getValue().asDouble() > 1e-7, e.getKey() + " did not move: " + c));
        assertTrue(c.get("heads_equal_before").asBoolean(), c.toString());
        assertTrue(c.get("o_shares_differ").asBoolean(), "the two o_proj shares of a copied head differ: " + c);
        assertTrue(c.get("heads_diverge_after_step").asDouble() > 1e-7, c.toString());
    }

    @Test
    void llamaHidden64To96Heads4To6KeepsTheLogits(@TempDir Path tmp) throws IOException {
        Path src = make(tmp, "llama", "llama", false);
        JsonNode c = grow(src, tmp.resolve("grown"), "hidden_size=96", "num_attention_heads=6");
        assertLossless(c, 96, 6, 3);
        assertEquals(1e-5 * 64 / 96, c.get("rms_norm_eps").asDouble(), 1e-18, "ε scales with the mean square: " + c);
        assertEquals(0.0, c.get("o_shares_sum_err").asDouble(), 1e-6, "the shares sum to the source's o_proj: " + c);

        // the probe on the lossless model: float32 storage of the split weights is all that moves the logits
        Path probed = tmp.resolve("probed");
        run(src, probed, List.of("--probe-tokens", "12"), "hidden_size=96", "num_attention_heads=6");
        JsonNode lossless = probe(src, probed);
        assertProbeIsTransformers(lossless);
        assertEquals(0.0, lossless.get("ours").get("max_abs_logit_diff").asDouble(), 1e-5 * lossless.get("max_abs_logit").asDouble(), lossless.toString());
        // --noise-std: not lossless, and the provenance says by how much, as transformers measures it
        Path noisy = tmp.resolve("noisy");
        run(src, noisy, List.of("--noise-std", "0.02"), "hidden_size=96", "num_attention_heads=6");
        JsonNode moved = probe(src, noisy);
        assertProbeIsTransformers(moved);
        assertEquals(16, moved.get("ours").get("tokens").size(), "16 probe tokens by default with --noise-std");
        assertTrue(moved.get("max_abs_logit_diff").asDouble() > 1e-3 * moved.get("max_abs_logit").asDouble(), moved.toString());
        JsonNode run = JSON.readTree(noisy.resolve("weightlab_provenance.json").toFile()).get("run");
        assertFalse(run.get("lossless").asBoolean(), run.toString());
        assertEquals(0.02, run.get("noise_std").asDouble(), 0.0);
    }

    @Test
    void qwen2WithBiasesAndTiedEmbeddingsKeepsTheLogits(@TempDir Path tmp) throws IOException {
        Path src = make(tmp, "qwen2", "qwen2", true);
        // heads derived from head_dim 16, key-value heads from the group size
        assertLossless(grow(src, tmp.resolve("grown"), "hidden_size=96"), 96, 6, 3);
        // the probe's forward with q/k/v biases and a tied head, on a noisy growth
        Path noisy = tmp.resolve("noisy");
        run(src, noisy, List.of("--noise-std", "0.01"), "hidden_size=96");
        assertProbeIsTransformers(probe(src, noisy));
        // two residual copies and a residue of 32: reader weights split over the copies, tied head's gain / 2
        JsonNode c = grow(src, tmp.resolve("grown160"), "hidden_size=160", "intermediate_size=200");
        assertLossless(c, 160, 10, 5);
        assertTrue(c.get("resid_copies_differ").asBoolean(), c.toString());
    }

    @Test
    void incompatibleShapesAreRefusedWithOneLine(@TempDir Path tmp) {
        Path src = make(tmp, "llama", "llama", false);
        String[][] cases = {
            {"hidden_size=100", "HeadDimFixed"},                                      // not a multiple of head_dim 16
            {"hidden_size=96", "num_attention_heads=8", "HeadDimFixed"},              // 8 × 16 ≠ 96
            {"hidden_size=80", "num_attention_heads=5", "GqaGroupKept"},              // 5 heads, group size 2
            {"hidden_size=96", "num_key_value_heads=2", "GqaGroupKept"},              // 6 / 2 changes the group
            {"hidden_size=48", "TargetNotSmaller"},
        };
        for (String[] k : cases) {
            Path out = tmp.resolve("refused");
            List<String> args = new ArrayList<>(List.of("grow", src.toString(), "--out", out.toString()));
            for (int i = 0; i < k.length - 1; i++) {
                args.add("--set");
                args.add(k[i]);
            }
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.exit(), String.join(" ", k) + ": " + r.err());
            assertTrue(r.err().contains(k[k.length - 1]), r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertFalse(Files.exists(out), "nothing written for " + String.join(" ", k));
        }
    }
}
