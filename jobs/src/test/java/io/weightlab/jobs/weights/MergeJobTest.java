package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.merge.DareMask;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import org.apache.hadoop.conf.Configuration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab merge} on a small random Llama and three perturbed "fine-tunes" of it (merge_check.py make), each
 * merge checked by merge_check.py against numpy written from the papers' formulas with mergekit's parameter
 * resolution, and against peft.utils.merge_utils where PEFT has the method (task_arithmetic, ties, magnitude_prune,
 * dare_linear with our masks given). Errors are relative to the tensor's largest |value|; the output is float32 and
 * the references float64, so 1e-6 is a few float32 roundings.
 */
public class MergeJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path shared;
    static Path models;

    @BeforeAll
    static void models() {
        Python.require("numpy", "torch", "safetensors", "transformers", "peft", "yaml");
        models = shared.resolve("models");
        Python.script(Python.testScript("merge_check.py"), "make", models.toString(), "3", "--bad");
    }

    static String m(String name) {
        return models.resolve(name).toString();
    }

    static Path recipe(Path dir, String yaml) throws IOException {
        Path p = dir.resolve("recipe-" + Integer.toHexString(yaml.hashCode()) + ".yaml");
        Files.writeString(p, yaml.replace("BF16BASE", m("bf16/base")).replace("BF16FT0", m("bf16/ft0")).replace("BF16FT1", m("bf16/ft1")).replace("BASE", m("base")).replace("FT0", m("ft0")).replace("FT1", m("ft1")).replace("FT2", m("ft2")));
        return p;
    }

    static Cli.Run merge(Path recipe, Path out, String... opts) {
        List<String> args = new ArrayList<>(List.of("merge", "--config", recipe.toString(), "--out", out.toString()));
        args.addAll(Arrays.asList(opts));
        return Cli.run(args.toArray(new String[0]));
    }

    /** One Python run checks every case: {out, recipe, peft, masks, load} each; the results in the same order. */
    static JsonNode check(Path dir, List<Map<String, Object>> cases) throws IOException {
        Path f = dir.resolve("cases.json");
        JSON.writeValue(f.toFile(), cases);
        return JSON.readTree(Python.script(Python.testScript("merge_check.py"), "check", f.toString()));
    }

    static Map<String, Object> ok(Map<String, Object> results, String name, Path tmp, Path recipe, Object... flags) {
        Map<String, Object> c = new LinkedHashMap<>();
        Path out = tmp.resolve(name);
        Cli.Run run = merge(recipe, out, flags.length > 0 && flags[0] instanceof String[] o ? o : new String[0]);
        assertEquals(0, run.exit(), name + ": " + run.err());
        c.put("name", name);
        c.put("out", out.toString());
        c.put("recipe", recipe.toString());
        for (int i = 0; i < flags.length; i++) if (flags[i] instanceof String k && i + 1 < flags.length) c.put(k, flags[++i]);
        results.put(name, c);
        return c;
    }

    @Test
    void everyMethodMatchesPeftAndThePapersFormulas(@TempDir Path tmp) throws IOException {
        Map<String, Object> cases = new LinkedHashMap<>();
        // task_arithmetic with any weights is b + peft.task_arithmetic
        ok(cases, "task_arithmetic", tmp, recipe(tmp, """
                merge_method: task_arithmetic
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.7}
                  - model: FT1
                    parameters: {weight: -0.3}
                  - model: FT2
                    parameters: {weight: 1.2}
                """), "peft", true);
        // PEFT's ties is mergekit's with every weight 1 (its divisor is a count; ours Σ w over the agreeing models)
        ok(cases, "ties", tmp, recipe(tmp, """
                merge_method: ties
                base_model: BASE
                models:
                  - model: BASE
                  - model: FT0
                    parameters: {weight: 1, density: 0.5}
                  - model: FT1
                    parameters: {weight: 1, density: 0.5}
                  - model: FT2
                    parameters: {weight: 1, density: 0.5}
                parameters:
                  normalize: true
                """), "peft", true, "load", true);
        // mergekit's README TIES example (density and weight gradients, a filtered weight, int8_mask, float16), paths ours
        ok(cases, "mergekit_ties_example", tmp, recipe(tmp, """
                models:
                  - model: FT0
                    parameters:
                      density: [1, 0.7, 0.1] # density gradient
                      weight: 1.0
                  - model: FT1
                    parameters:
                      density: 0.5
                      weight: [0, 0.3, 0.7, 1] # weight gradient
                  - model: FT2
                    parameters:
                      density: 0.33
                      weight:
                        - filter: mlp
                          value: 0.5
                        - value: 0
                merge_method: ties
                base_model: BASE
                parameters:
                  normalize: true
                  int8_mask: true
                dtype: float16
                """), "load", true);
        String dare = """
                merge_method: METHOD
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.5, density: 0.7}
                  - model: FT1
                    parameters: {weight: 0.8, density: 0.7}
                  - model: FT2
                    parameters: {weight: 0.4, density: 0.7}
                """;
        Path masks = Files.createDirectories(tmp.resolve("masks"));
        ok(cases, "dare_linear", tmp, recipe(tmp, dare.replace("METHOD", "dare_linear")), new String[] {"--seed", "7"}, "peft", true, "masks", masks.toString());
        ok(cases, "dare_ties", tmp, recipe(tmp, dare.replace("METHOD", "dare_ties")), new String[] {"--seed", "7"}, "masks", masks.toString());
        // gamma 0: keep the top density of |τ| and no consensus, which is PEFT's magnitude_prune
        ok(cases, "breadcrumbs_gamma0", tmp, recipe(tmp, """
                merge_method: breadcrumbs
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.6}
                  - model: FT1
                    parameters: {weight: 0.9}
                parameters: {density: 0.4, gamma: 0}
                """), "peft", true);
        ok(cases, "breadcrumbs_ties", tmp, recipe(tmp, """
                merge_method: breadcrumbs_ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 1, density: 0.8, gamma: 0.05}
                  - model: FT1
                    parameters: {weight: 0.5, density: 0.6, gamma: 0.1}
                  - model: FT2
                    parameters: {weight: 0.7, density: 0.9}
                parameters: {lambda: 0.8}
                """));
        // mergekit's gradient-slerp example: one slice over every layer, t by filter and gradient
        ok(cases, "slerp_example", tmp, recipe(tmp, """
                slices:
                  - sources:
                      - model: BASE
                        layer_range: [0, 4]
                      - model: FT1
                        layer_range: [0, 4]
                merge_method: slerp
                base_model: BASE
                parameters:
                  t:
                    - filter: self_attn
                      value: [0, 0.5, 0.3, 0.7, 1]
                    - filter: mlp
                      value: [1, 0.5, 0.7, 0.3, 0]
                    - value: 0.5 # fallback for rest of tensors
                dtype: float32
                """), "load", true);
        ok(cases, "model_stock", tmp, recipe(tmp, """
                merge_method: model_stock
                base_model: BASE
                models:
                  - model: FT0
                  - model: FT1
                  - model: FT2
                """));
        ok(cases, "nuslerp_task_vectors", tmp, recipe(tmp, """
                merge_method: nuslerp
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.3}
                  - model: FT2
                    parameters: {weight: 0.9}
                """));
        // each row W[i,:] of the task vectors its own slerp (rows of independent noise: θ differs row to row, so the
        // whole-tensor form would miss); a 40 KiB budget cuts tensors into many slices, each of whole rows
        ok(cases, "nuslerp_rows", tmp, recipe(tmp, """
                merge_method: nuslerp
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.6}
                  - model: FT1
                    parameters: {weight: 0.4}
                parameters: {nuslerp_flatten: false}
                """), new String[] {"--memory-budget", "40KiB"});
        // each column W[:,j] (mergekit's nuslerp_row_wise), no base: the columns' Gram from the first pass, slices cut anywhere
        ok(cases, "nuslerp_columns", tmp, recipe(tmp, """
                merge_method: nuslerp
                models:
                  - model: FT0
                    parameters: {weight: 0.7}
                  - model: FT1
                    parameters: {weight: 0.5}
                parameters: {nuslerp_flatten: false, nuslerp_row_wise: true}
                """), new String[] {"--memory-budget", "40KiB"});
        // the base, given and not listed, is one of the four inputs of the Karcher mean (mergekit's behaviour)
        ok(cases, "karcher", tmp, recipe(tmp, """
                merge_method: karcher
                base_model: BASE
                models:
                  - model: FT0
                  - model: FT1
                  - model: FT2
                parameters: {max_iter: 20, tol: 1e-9}
                """));
        ok(cases, "sce", tmp, recipe(tmp, """
                merge_method: sce
                base_model: BASE
                models:
                  - model: FT0
                  - model: FT1
                  - model: FT2
                """));
        // select_topk < 1: the positions of largest variance across the models (an exact top-k over the whole tensor),
        // then the masked mean squares; a 40 KiB budget makes many steps per piece; in bfloat16 the variances tie at the cut
        ok(cases, "sce_topk", tmp, recipe(tmp, """
                merge_method: sce
                base_model: BASE
                models:
                  - model: FT0
                  - model: FT1
                  - model: FT2
                parameters: {select_topk: 0.4}
                """), new String[] {"--memory-budget", "40KiB"});
        ok(cases, "sce_topk_bf16", tmp, recipe(tmp, """
                merge_method: sce
                base_model: BF16BASE
                models:
                  - model: BF16FT0
                  - model: BF16FT1
                parameters: {select_topk: 0.5}
                """), new String[] {"--memory-budget", "40KiB"});
        // bfloat16 models: their deltas tie often at the top-k threshold, which the job breaks by index as the oracle does
        ok(cases, "ties_bf16", tmp, recipe(tmp, """
                merge_method: ties
                base_model: BF16BASE
                models:
                  - model: BF16FT0
                    parameters: {weight: 0.7, density: 0.3}
                  - model: BF16FT1
                    parameters: {weight: 1.1, density: 0.6}
                """));
        ok(cases, "linear", tmp, recipe(tmp, """
                merge_method: linear
                models:
                  - model: FT0
                    parameters: {weight: 2}
                  - model: FT2
                    parameters: {weight: 1}
                """));

        // the masks we drew, from (seed, tensor, input, block), handed to PEFT in place of torch.bernoulli
        JsonNode prov = JSON.readTree(tmp.resolve("dare_linear/weightlab_provenance.json").toFile());
        Checkpoint base = CheckpointCatalog.open(new Configuration(), m("base"));
        for (JsonNode t : prov.get("tensors")) {
            String name = t.get("name").asText();
            long n = base.tensor(name).elementCount();
            for (int i = 0; i < 3; i++) {
                boolean[] keep = DareMask.draw(7, name, i, 0.7, 0, (int) n);
                byte[] b = new byte[keep.length];
                for (int j = 0; j < b.length; j++) b[j] = (byte) (keep[j] ? 1 : 0);
                Files.write(masks.resolve(name + "." + i), b);
            }
            // the kept fraction is Binomial(n, 0.7)/n: within 5 sigma
            for (JsonNode f : t.get("kept_fraction")) assertEquals(0.7, f.asDouble(), 5 * Math.sqrt(0.21 / n) + 1e-12, name);
        }

        List<Map<String, Object>> list = new ArrayList<>();
        for (Object c : cases.values()) {
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) c;
            list.add(m);
        }
        JsonNode results = check(tmp, list);
        for (int i = 0; i < list.size(); i++) {
            JsonNode r = results.get(i);
            String name = (String) list.get(i).get("name");
            assertTrue(r.get("tensors").asInt() > 30, name + ": " + r);
            // float32 outputs against float64 references: a few float32 roundings; float16: one float16 rounding
            double tol = name.equals("mergekit_ties_example") ? 1e-3 : name.endsWith("_bf16") ? 1e-2 : 1e-6;
            assertTrue(r.get("max_rel_err").asDouble() < tol, name + ": " + r);
            // bfloat16 output: every element within half an ulp of the float64 reference (a wrongly kept element is not)
            if (name.endsWith("_bf16")) assertTrue(r.get("max_err_in_half_ulps_bf16").asDouble() <= 1.0, name + ": " + r);
            if (list.get(i).containsKey("peft")) assertTrue(r.get("max_rel_err_peft").asDouble() < 1e-6, name + " vs PEFT: " + r);
            if (list.get(i).containsKey("load")) {
                assertEquals(0, r.get("missing_keys").size(), name + ": " + r);
                assertTrue(r.get("logits_finite").asBoolean(), name + ": " + r);
            }
        }
        assertEquals("float16", results.get(2).get("out_dtype").asText());

        // the bfloat16 merge did break ties at some thresholds (so that path is what the oracle above checked)
        JsonNode bf = JSON.readTree(tmp.resolve("ties_bf16/weightlab_provenance.json").toFile());
        assertTrue(bf.get("run").get("tie_broken_cuts").asInt() > 0, bf.get("run").toString());
        // sce's variance ranking: noise fine-tunes differ everywhere, so k = ⌊0.4 n⌋ of every tensor's n positions is kept;
        // in bfloat16 the variances tie at some cuts, so the equal-count pass and its per-unit counts were exercised
        for (JsonNode t : JSON.readTree(tmp.resolve("sce_topk/weightlab_provenance.json").toFile()).get("tensors")) {
            assertEquals(0.4, t.get("kept_fraction").get(0).asDouble(), 1.0 / 64 + 1e-12, t.get("name").asText());
        }
        JsonNode sceBf = JSON.readTree(tmp.resolve("sce_topk_bf16/weightlab_provenance.json").toFile());
        assertTrue(sceBf.get("run").get("tie_broken_cuts").asInt() > 0, sceBf.get("run").toString());

        // the README example's parameters as resolved for layer 3 of 4 (t = 1): density 0.1 and weight 1 for the first two
        // models, 0.5 for the third (filter mlp); for the embeddings (t = 0): density 1, weights 1, 0, 0
        JsonNode ex = JSON.readTree(tmp.resolve("mergekit_ties_example/weightlab_provenance.json").toFile());
        for (JsonNode t : ex.get("tensors")) {
            String name = t.get("name").asText();
            JsonNode p = t.get("parameters");
            if (name.equals("model.layers.3.mlp.up_proj.weight")) {
                assertEquals(0.1, p.get("density").get(0).asDouble(), 1e-12);
                assertEquals(1.0, p.get("weight").get(1).asDouble(), 1e-12);
                assertEquals(0.5, p.get("weight").get(2).asDouble(), 1e-12);
            }
            if (name.equals("model.embed_tokens.weight")) {
                assertEquals(1.0, p.get("density").get(0).asDouble(), 1e-12);
                assertEquals(0.0, p.get("weight").get(1).asDouble(), 1e-12);
                assertEquals(0.0, p.get("weight").get(2).asDouble(), 1e-12);
            }
        }
    }

    @Test
    void dellaMatchesTheFormulaGivenOurUniforms(@TempDir Path tmp) throws IOException {
        // della on three models (epsilons 0.2, default 0.15, 0.3; lambda 0.9) at the default step; della_linear at a 40 KiB
        // budget, whose 4096-element steps are cut to whole rows (4032 for down_proj's rows of 96)
        Map<String, Object> cases = new LinkedHashMap<>();
        Path uniforms = Files.createDirectories(tmp.resolve("uniforms"));
        ok(cases, "della", tmp, recipe(tmp, """
                merge_method: della
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.6, density: 0.5, epsilon: 0.2}
                  - model: FT1
                    parameters: {weight: 0.9, density: 0.7}
                  - model: FT2
                    parameters: {weight: 0.5, density: 0.4, epsilon: 0.3}
                parameters: {lambda: 0.9}
                """), new String[] {"--seed", "7"}, "uniforms", uniforms.toString());
        ok(cases, "della_linear", tmp, recipe(tmp, """
                merge_method: della_linear
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.5, density: 0.6}
                  - model: FT1
                    parameters: {weight: 0.8, density: 0.3, epsilon: 0.1}
                """), new String[] {"--seed", "7", "--memory-budget", "40KiB"}, "uniforms", uniforms.toString());
        // the uniforms of (seed, tensor, input, element) that both runs drew from, handed to the reference, which ranks
        // |τ| along dim 1 (numpy's stable argsort), maps ranks to density ± epsilon and keeps where u < p on its own
        JsonNode prov = JSON.readTree(tmp.resolve("della/weightlab_provenance.json").toFile());
        Checkpoint base = CheckpointCatalog.open(new Configuration(), m("base"));
        double[] density = {0.5, 0.7, 0.4};
        for (JsonNode t : prov.get("tensors")) {
            String name = t.get("name").asText();
            long n = base.tensor(name).elementCount();
            for (int i = 0; i < 3; i++) {
                double[] u = DareMask.uniforms(7, name, i, 0, (int) n);
                java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(8 * u.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (double v : u) bb.putDouble(v);
                Files.write(uniforms.resolve(name + "." + i), bb.array());
                // a row keeps density on average; the kept count is a sum of Bernoullis, variance at most n/4
                assertEquals(density[i], t.get("kept_fraction").get(i).asDouble(), 5 * Math.sqrt(0.25 / n), name);
            }
        }
        List<Map<String, Object>> list = new ArrayList<>();
        for (Object c : cases.values()) {
            @SuppressWarnings("unchecked") Map<String, Object> c2 = (Map<String, Object>) c;
            list.add(c2);
        }
        JsonNode results = check(tmp, list);
        for (int i = 0; i < list.size(); i++) {
            JsonNode r = results.get(i);
            String name = (String) list.get(i).get("name");
            assertTrue(r.get("tensors").asInt() > 30, name + ": " + r);
            // float32 output against a float64 reference; one element kept or dropped wrongly is ~1e-2 of the tensor's max
            assertTrue(r.get("max_rel_err").asDouble() < 1e-6, name + ": " + r);
            assertTrue(r.get("della_rows").asLong() > 1000, name + ": " + r);
        }
    }

    @Test
    void passthroughStacksLayerRangesAsMergekitDoes(@TempDir Path tmp) throws IOException {
        // a frankenmerge: layers 0-2 of the base, then layers 1-3 of a fine-tune with its o_proj halved: 6 layers
        Path r = recipe(tmp, """
                slices:
                  - sources:
                      - model: BASE
                        layer_range: [0, 3]
                  - sources:
                      - model: FT1
                        layer_range: [1, 4]
                        parameters:
                          scale:
                            - filter: o_proj
                              value: 0.5
                            - value: 1.0
                merge_method: passthrough
                dtype: float32
                """);
        Path out = tmp.resolve("stacked");
        Cli.Run run = merge(r, out);
        assertEquals(0, run.exit(), run.err());
        JsonNode res = JSON.readTree(Python.script(Python.testScript("merge_check.py"), "stack", r.toString(), out.toString()));
        assertTrue(res.get("same_names").asBoolean(), res.toString());
        assertEquals(0.0, res.get("max_abs_diff").asDouble(), 0.0, "copies and halving by 0.5 are exact: " + res);
        assertEquals(6, res.get("layers").asInt(), "config.json num_hidden_layers");
        assertEquals(0, res.get("missing_keys").size(), res.toString());
        assertTrue(res.get("logits_finite").asBoolean());
        assertEquals(6 * 9 + 3, res.get("written_tensors").asInt(), "9 tensors per layer, embeddings, norm, head: " + res);

        // a range past the model's layers, and two sources in one slice: one line, exit 2, nothing written
        String[][] bad = {
                {"slices:\n  - sources:\n      - model: BASE\n        layer_range: [2, 9]\nmerge_method: passthrough\n", "is past its 4 layer(s)"},
                {"slices:\n  - sources:\n      - model: BASE\n        layer_range: [0, 2]\n      - model: FT0\n        layer_range: [0, 2]\nmerge_method: passthrough\n",
                        "exactly one source per slice"},
        };
        for (String[] c : bad) {
            Path o = tmp.resolve("bad");
            Cli.Run b = merge(recipe(tmp, c[0]), o);
            assertEquals(2, b.exit(), b.err());
            assertTrue(b.err().contains(c[1]), b.err());
            assertEquals(1, b.err().strip().lines().count(), b.err());
            assertFalse(Files.exists(o));
        }
    }

    @Test
    void dareTiesIsByteIdenticalWhateverTheStep(@TempDir Path tmp) throws IOException {
        Path dt = recipe(tmp, """
                merge_method: dare_ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.5, density: 0.3}
                  - model: FT1
                    parameters: {weight: 0.8, density: 0.6}
                """);
        assertEquals(0, merge(dt, tmp.resolve("a"), "--seed", "3").exit());
        assertEquals(0, merge(dt, tmp.resolve("b"), "--seed", "3", "--memory-budget", "40KiB").exit());
        assertEquals(0, merge(dt, tmp.resolve("c"), "--seed", "4").exit());
        byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertFalse(Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))), "another seed draws other masks");

        Cli.Run list = Cli.run("merge", "--list-methods");
        assertEquals(0, list.exit());
        for (String name : io.weightlab.common.merge.MergeRegistry.names()) assertTrue(list.out().contains(name + "\n"), name);
        assertTrue(list.out().contains("density: number (0, 1], default 1.0"), list.out());
    }

    @Test
    void badInputIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) throws IOException {
        String ties = """
                merge_method: ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 1, density: 0.5}
                  - model: FT1
                    parameters: {weight: 1, density: DENSITY}
                """;
        // recipe mistakes that need no model are in MergeRecipeTest (no Spark); one of them runs through the CLI here
        String[][] cases = {
                {ties.replace("FT1", m("nan")).replace("DENSITY", "0.5"), "NaN"},
                {ties.replace("FT1", m("shape")).replace("DENSITY", "0.5"), "SameShape"},
                {ties.replace("FT1", tmp.resolve("no-such-model").toString()).replace("DENSITY", "0.5"), "no-such-model"},
                {ties.replace("DENSITY", "1.5"), "density=1.5 is outside (0, 1]"},
                {ties.replace("DENSITY", "0"), "density=0 is outside (0, 1]"},
                {"merge_method: linear\nmodels:\n  - model: FT0\n    parameters: {weight: 1}\n  - model: FT1\n    parameters: {weight: -1}\n", "sum to 0"},
                {ties.replace("DENSITY", "0.5") + "paramters: {normalize: true}\n", "unknown key 'paramters'"},
                {ties.replace("ties", "della").replace("DENSITY", "0.9"), "della: density 0.9 ± epsilon 0.15 of " + m("ft1") + " for tensor"},
        };
        for (String[] c : cases) {
            Path out = tmp.resolve("out");
            Cli.Run run = merge(recipe(tmp, c[0]), out);
            assertEquals(2, run.exit(), c[1] + ": " + run.err());
            assertTrue(run.err().contains(c[1]), c[1] + " not in: " + run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertFalse(Files.exists(out), c[1] + ": the output exists");
        }
    }
}
