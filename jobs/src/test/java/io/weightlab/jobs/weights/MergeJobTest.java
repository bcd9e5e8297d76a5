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
import java.util.List;

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
        Python.script(Python.testScript("merge_check.py"), "make", models.toString(), "3");
    }

    static String m(String name) {
        return models.resolve(name).toString();
    }

    static Path recipe(Path dir, String yaml) throws IOException {
        Path p = dir.resolve("recipe-" + Integer.toHexString(yaml.hashCode()) + ".yaml");
        Files.writeString(p, yaml.replace("BASE", m("base")).replace("FT0", m("ft0")).replace("FT1", m("ft1")).replace("FT2", m("ft2")));
        return p;
    }

    static Cli.Run merge(Path recipe, Path out, String... opts) {
        List<String> args = new ArrayList<>(List.of("merge", "--config", recipe.toString(), "--out", out.toString()));
        args.addAll(Arrays.asList(opts));
        return Cli.run(args.toArray(new String[0]));
    }

    static JsonNode check(Path out, Path recipe, String... flags) throws IOException {
        List<String> args = new ArrayList<>(List.of("check", models.toString(), out.toString(), recipe.toString()));
        args.addAll(Arrays.asList(flags));
        return JSON.readTree(Python.script(Python.testScript("merge_check.py"), args.toArray(new String[0])));
    }

    @Test
    void taskArithmeticAndTiesEqualPeft(@TempDir Path tmp) throws IOException {
        Path ta = recipe(tmp, """
                merge_method: task_arithmetic
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.7}
                  - model: FT1
                    parameters: {weight: -0.3}
                  - model: FT2
                    parameters: {weight: 1.2}
                """);
        assertEquals(0, merge(ta, tmp.resolve("ta")).exit());
        JsonNode r = check(tmp.resolve("ta"), ta, "--peft");
        assertTrue(r.get("tensors").asInt() > 30, r.toString());
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
        assertTrue(r.get("max_rel_err_peft").asDouble() < 1e-6, r.toString());

        // PEFT's ties is mergekit's with every weight 1 (its divisor is a count; ours Σ w over the agreeing models)
        Path ties = recipe(tmp, """
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
                """);
        assertEquals(0, merge(ties, tmp.resolve("ties")).exit());
        r = check(tmp.resolve("ties"), ties, "--peft", "--load");
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
        assertTrue(r.get("max_rel_err_peft").asDouble() < 1e-6, r.toString());
        assertEquals(0, r.get("missing_keys").size(), r.toString());
        assertTrue(r.get("logits_finite").asBoolean(), r.toString());
    }

    @Test
    void mergekitsTiesExampleRunsUnchanged(@TempDir Path tmp) throws IOException {
        // mergekit's README TIES example (density and weight gradients, a filtered weight, int8_mask, float16), paths ours
        Path p = recipe(tmp, """
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
                """);
        Cli.Run run = merge(p, tmp.resolve("out"));
        assertEquals(0, run.exit(), run.err());
        JsonNode r = check(tmp.resolve("out"), p, "--load");
        assertEquals("float16", r.get("out_dtype").asText());
        assertTrue(r.get("max_rel_err").asDouble() < 1e-3, r.toString()); // one float16 rounding
        assertEquals(0, r.get("missing_keys").size(), r.toString());
        JsonNode prov = JSON.readTree(tmp.resolve("out/weightlab_provenance.json").toFile());
        JsonNode row = null;
        for (JsonNode t : prov.get("tensors")) if (t.get("name").asText().equals("model.layers.3.mlp.up_proj.weight")) row = t;
        // layer 3 of 4: t = 1, so density 0.1 and weight 1 for the first two; 0.5 (filter mlp) for the third
        assertEquals(0.1, row.get("parameters").get("density").get(0).asDouble(), 1e-12);
        assertEquals(1.0, row.get("parameters").get("weight").get(1).asDouble(), 1e-12);
        assertEquals(0.5, row.get("parameters").get("weight").get(2).asDouble(), 1e-12);
    }

    @Test
    void dareLinearEqualsPeftWithOurMasksAndIsByteIdenticalAcrossSplits(@TempDir Path tmp) throws IOException {
        String body = """
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
        Path p = recipe(tmp, body.replace("METHOD", "dare_linear"));
        assertEquals(0, merge(p, tmp.resolve("dare"), "--seed", "7").exit());
        // the masks we drew, from (seed, tensor, input, block), handed to PEFT in place of torch.bernoulli
        Path masks = Files.createDirectories(tmp.resolve("masks"));
        JsonNode prov = JSON.readTree(tmp.resolve("dare/weightlab_provenance.json").toFile());
        for (JsonNode t : prov.get("tensors")) {
            String name = t.get("name").asText();
            long n = elements(t);
            for (int i = 0; i < 3; i++) {
                boolean[] keep = DareMask.draw(7, name, i, 0.7, 0, (int) n);
                byte[] b = new byte[keep.length];
                for (int j = 0; j < b.length; j++) b[j] = (byte) (keep[j] ? 1 : 0);
                Files.write(masks.resolve(name + "." + i), b);
            }
            for (JsonNode f : t.get("kept_fraction")) if (n > 5000) assertEquals(0.7, f.asDouble(), 5 * Math.sqrt(0.21 / n));
        }
        JsonNode r = check(tmp.resolve("dare"), p, "--peft", "--masks", masks.toString());
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
        assertTrue(r.get("max_rel_err_peft").asDouble() < 1e-6, r.toString());

        // dare_ties: the same bytes with a different step (memory budget) and shard split of the work
        Path dt = recipe(tmp, body.replace("METHOD", "dare_ties"));
        assertEquals(0, merge(dt, tmp.resolve("dt1"), "--seed", "7").exit());
        assertEquals(0, merge(dt, tmp.resolve("dt2"), "--seed", "7", "--memory-budget", "40KiB").exit());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("dt1/model.safetensors")), Files.readAllBytes(tmp.resolve("dt2/model.safetensors")));
        r = check(tmp.resolve("dt1"), dt, "--masks", masks.toString());
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
    }

    private static long elements(JsonNode provRow) {
        // the weights' element count from the tensor name is not in the provenance: read it from the base's header
        try {
            return io.weightlab.common.io.CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(), m("base")).tensor(provRow.get("name").asText()).elementCount();
        } catch (RuntimeException e) {
            throw e;
        }
    }

    @Test
    void breadcrumbsSlerpAndLinearMatchTheFormulas(@TempDir Path tmp) throws IOException {
        // gamma 0: keep the top density of |τ| and no consensus, which is PEFT's magnitude_prune
        Path bc0 = recipe(tmp, """
                merge_method: breadcrumbs
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.6}
                  - model: FT1
                    parameters: {weight: 0.9}
                parameters: {density: 0.4, gamma: 0}
                """);
        assertEquals(0, merge(bc0, tmp.resolve("bc0")).exit());
        JsonNode r = check(tmp.resolve("bc0"), bc0, "--peft");
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
        assertTrue(r.get("max_rel_err_peft").asDouble() < 1e-6, r.toString());

        Path bc = recipe(tmp, """
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
                """);
        assertEquals(0, merge(bc, tmp.resolve("bc")).exit());
        r = check(tmp.resolve("bc"), bc);
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());

        // mergekit's gradient-slerp example: one slice over every layer, t by filter and gradient
        Path sl = recipe(tmp, """
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
                """);
        assertEquals(0, merge(sl, tmp.resolve("slerp")).exit());
        r = check(tmp.resolve("slerp"), sl, "--load");
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
        assertEquals(0, r.get("missing_keys").size(), r.toString());

        Path lin = recipe(tmp, """
                merge_method: linear
                models:
                  - model: FT0
                    parameters: {weight: 2}
                  - model: FT2
                    parameters: {weight: 1}
                """);
        assertEquals(0, merge(lin, tmp.resolve("lin")).exit());
        r = check(tmp.resolve("lin"), lin);
        assertTrue(r.get("max_rel_err").asDouble() < 1e-6, r.toString());
    }

    @Test
    void badInputIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad-models");
        Python.script(Python.testScript("merge_check.py"), "make", bad.resolve("nan").toString(), "2", "--nan");
        Python.script(Python.testScript("merge_check.py"), "make", bad.resolve("shape").toString(), "2", "--shape");
        String ties = """
                merge_method: ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 1, density: 0.5}
                  - model: FT1
                    parameters: {weight: 1, density: DENSITY}
                """;
        String[][] cases = {
                {ties.replace("FT1", bad.resolve("nan/ft1").toString()).replace("DENSITY", "0.5"), "NaN"},
                {ties.replace("FT1", bad.resolve("shape/ft1").toString()).replace("DENSITY", "0.5"), "SameShape"},
                {ties.replace("FT1", tmp.resolve("no-such-model").toString()).replace("DENSITY", "0.5"), "no-such-model"},
                {ties.replace("DENSITY", "1.5"), "density=1.5 is outside (0, 1]"},
                {ties.replace("DENSITY", "0"), "density=0 is outside (0, 1]"},
                {"merge_method: linear\nmodels:\n  - model: FT0\n    parameters: {weight: 1}\n  - model: FT1\n    parameters: {weight: -1}\n", "sum to 0"},
                {ties.replace("DENSITY", "0.5").replace("merge_method: ties", "merge_method: tie"), "did you mean 'ties'"},
                {ties.replace("DENSITY", "0.5") + "tokenizer_source: union\n", "tokenizer_source"},
                {ties.replace("DENSITY", "0.5").replace("{weight: 1, density: 0.5}", "{weight: 1, densty: 0.5}"), "unknown parameter 'densty'"},
                {ties.replace("DENSITY", "0.5") + "paramters: {normalize: true}\n", "unknown key 'paramters'"},
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
