package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab merge --screen} on MergeJobTest's small random Llama and three perturbed fine-tunes: the screen's
 * per-tensor metrics against numpy recomputing them from each candidate's merge written in float64 (screen_check.py),
 * the merged matrices' WeightWatcher α against {@code weightlab spectrum} on each written candidate and against numpy,
 * the grid's expansion and the ranking, reads that do not grow with the candidates, {@code --write-top} byte-identical
 * to {@code merge --config}, and bad grids refused in one line before anything is written.
 */
public class MergeScreenJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path shared;
    static Path models;

    @BeforeAll
    static void models() {
        Python.require("numpy", "torch", "safetensors", "transformers");
        models = shared.resolve("models");
        Python.script(Python.testScript("merge_check.py"), "make", models.toString(), "3");
    }

    static String m(String name) {
        return models.resolve(name).toString();
    }

    static Path grid(Path dir, String name, String yaml) throws IOException {
        Path p = dir.resolve(name + ".yaml");
        Files.writeString(p, yaml.replace("BASE", m("base")).replace("FT0", m("ft0")).replace("FT1", m("ft1")).replace("FT2", m("ft2")));
        return p;
    }

    static Cli.Run screen(Path grid, Path out, String... opts) {
        List<String> args = new ArrayList<>(List.of("merge", "--screen", grid.toString(), "--out", out.toString()));
        args.addAll(Arrays.asList(opts));
        return Cli.run(args.toArray(new String[0]));
    }

    static final String SIX_METHODS = """
            candidates:
              - name: linear
                merge_method: linear
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.6}
                  - model: FT1
                    parameters: {weight: 0.4}
              - name: ties
                merge_method: ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 1, density: 0.5}
                  - model: FT1
                    parameters: {weight: 0.7, density: 0.3}
                  - model: FT2
                    parameters: {weight: 1, density: 0.5}
              - name: dare_ties
                merge_method: dare_ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.5, density: 0.7}
                  - model: FT2
                    parameters: {weight: 0.8, density: 0.6}
              - name: slerp
                merge_method: slerp
                base_model: BASE
                models:
                  - model: FT1
                parameters: {t: 0.4}
              - name: task_arithmetic
                merge_method: task_arithmetic
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 0.7}
                  - model: FT2
                    parameters: {weight: 0.5}
                parameters: {lambda: 0.9}
              - name: della
                merge_method: della
                base_model: BASE
                models:
                  - model: FT1
                    parameters: {weight: 0.6, density: 0.5, epsilon: 0.2}
                  - model: FT2
                    parameters: {weight: 0.9, density: 0.7}
            """;

    @Test
    void metricsEqualNumpyOnEachCandidatesFloat64Merge(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("screen");
        // every candidate written in float64 by merge's own writer: the oracle sees exactly the values the screen measured
        Cli.Run run = screen(grid(tmp, "six", SIX_METHODS), out, "--write-top", "6", "--out-dtype", "F64", "--seed", "7", "--spectra-alpha");
        assertEquals(0, run.exit(), run.err());
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        JsonNode doc = JSON.readTree(out.resolve("screen.json").toFile());
        Map<String, String> merged = new LinkedHashMap<>();
        for (JsonNode c : doc.get("candidates")) merged.put(c.get("name").asText(), out.resolve(c.get("top_dir").asText()).toString());
        assertEquals(6, merged.size());
        Path mj = tmp.resolve("merged.json");
        JSON.writeValue(mj.toFile(), merged);
        JsonNode r = JSON.readTree(Python.script(Python.testScript("screen_check.py"), "check", out.toString(), mj.toString()));
        System.out.println("screen_check: " + r);
        int tensors = doc.get("run").get("tensors").asInt();
        assertEquals(6 * tensors, r.get("rows").asInt(), r.toString());
        assertTrue(r.get("spectra").asInt() >= 6 * 4 * 7, "every layer's seven matrices, for every candidate: " + r);
        assertEquals(0, r.get("energy_rank_mismatches").asInt(), r.toString());
        assertEquals(0, r.get("null_mismatches").size(), "null where numpy has a number, or the reverse: " + r);
        for (var it = r.get("worst").fields(); it.hasNext(); ) {
            var e = it.next();
            assertTrue(e.getValue().asDouble() < 1e-9, e.getKey() + ": " + r);
        }
        assertEquals(14, r.get("worst").size(), "every metric was compared: " + r);
        // α against numpy's singular values of the merged matrix and the reference's WeightWatcher scan (plfit_reference.py)
        assertEquals(r.get("spectra").asInt(), r.get("alphas").asInt(), "every matrix screened whole has an α here: " + r);
        alphaEqualsSpectrumOfTheWrittenCandidates(tmp, out, merged);
        // the CSV has the JSON-lines rows; the page lists every candidate
        assertEquals(6 * tensors + 1, Files.readAllLines(out.resolve("screen_tensors.csv")).size());
        String page = Files.readString(out.resolve("report.html"));
        for (String name : merged.keySet()) assertTrue(page.contains("\"" + name + "\""), name);
    }

    /**
     * Each candidate's α per matrix against {@code weightlab spectrum} (its defaults, embeddings and head included) on
     * that candidate written in float64 by --write-top: the same values through the written checkpoint, so equal to
     * 1e-9 relative; every matrix spectrum fits has an α in the screen and the candidate's summary is made of them.
     */
    static void alphaEqualsSpectrumOfTheWrittenCandidates(Path tmp, Path out, Map<String, String> merged) throws IOException {
        Map<String, Map<String, JsonNode>> rows = new LinkedHashMap<>();
        for (String l : Files.readAllLines(out.resolve("screen_tensors.jsonl"))) {
            JsonNode r = JSON.readTree(l);
            rows.computeIfAbsent(r.get("candidate").asText(), k -> new LinkedHashMap<>()).put(r.get("name").asText(), r);
        }
        Map<String, JsonNode> summary = new LinkedHashMap<>();
        for (JsonNode c : JSON.readTree(out.resolve("screen.json").toFile()).get("candidates")) summary.put(c.get("name").asText(), c);
        for (Map.Entry<String, String> e : merged.entrySet()) {
            Path spec = tmp.resolve("spectrum-" + e.getKey());
            Cli.Run s = Cli.run("spectrum", e.getValue(), "--include", "embeddings,head", "--out", spec.toString());
            assertEquals(0, s.exit(), s.err());
            int fitted = 0, out6 = 0;
            double sum = 0;
            for (JsonNode m : JSON.readTree(spec.resolve("spectrum.json").toFile()).get("matrices")) {
                String where = e.getKey() + " " + m.get("name").asText();
                assertEquals("ok", m.get("status").asText(), where);
                JsonNode got = rows.get(e.getKey()).get(m.get("name").asText()).get("alpha");
                double want = m.get("alpha").asDouble();
                if (want < 0) {
                    assertTrue(got.isNull(), where + ": spectrum's fit failed, the screen has " + got);
                    continue;
                }
                assertEquals(want, got.asDouble(), 1e-9 * want, where);
                fitted++;
                sum += got.asDouble();
                if (want < 2 || want > 6) out6++;
            }
            long screened = rows.get(e.getKey()).values().stream().filter(r -> !r.get("alpha").isNull()).count();
            assertEquals(fitted, screened, e.getKey() + ": the screen's α are the matrices spectrum fits");
            assertTrue(fitted >= 4 * 7, e.getKey() + ": every layer's seven matrices at least");
            JsonNode c = summary.get(e.getKey());
            assertEquals(fitted, c.get("alpha_matrices").asInt(), e.getKey());
            assertEquals(out6, c.get("alpha_out_of_range").asInt(), e.getKey());
            assertEquals(sum / fitted, c.get("mean_alpha").asDouble(), 1e-12 * sum / fitted, e.getKey());
        }
    }

    @Test
    void gridExpandsRanksAndWritesTheTopTwoAsMergeWould(@TempDir Path tmp) throws IOException {
        String ties = """
                name: t
                merge_method: ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 1, density: 0.5}
                  - model: FT1
                    parameters: {weight: 1, density: 0.5}
                  - FT2
                parameters: {weight: 1}
                grid:
                  density: DENSITIES
                  models[1].parameters.weight: WEIGHTS
                """;
        Path out = tmp.resolve("grid");
        Cli.Run run = screen(grid(tmp, "grid", ties.replace("DENSITIES", "[0.2, 0.5, 0.9]").replace("WEIGHTS", "[0.5, 1.5]")), out, "--write-top", "2");
        assertEquals(0, run.exit(), run.err());
        JsonNode doc = JSON.readTree(out.resolve("screen.json").toFile());
        // the cartesian product, the first key slowest, named prefix_key=value...
        List<String> names = new ArrayList<>();
        for (String d : List.of("0.2", "0.5", "0.9")) for (String w : List.of("0.5", "1.5")) names.add("t_density=" + d + "_m1.weight=" + w);
        List<String> got = new ArrayList<>();
        doc.get("candidates").forEach(c -> got.add(c.get("name").asText()));
        assertEquals(names.stream().sorted().toList(), got.stream().sorted().toList());
        // ranked by mean_cosine, best first, ranks 1..6
        double prev = Double.POSITIVE_INFINITY;
        int rank = 0;
        for (JsonNode c : doc.get("candidates")) {
            assertEquals(++rank, c.get("rank").asInt());
            assertEquals(c.get("mean_cosine").asDouble(), c.get("score").asDouble(), 0.0);
            assertTrue(c.get("score").asDouble() <= prev, doc.get("candidates").toString());
            for (String k : List.of("mean_alpha", "alpha_out_of_range", "alpha_matrices")) assertTrue(c.get(k).isNull(), k + " without --spectra-alpha");
            prev = c.get("score").asDouble();
            // the grid's value is in the candidate's recipe, top-level density overrides none of the per-model 0.5s
            assertEquals(c.get("name").asText().contains("density=0.9") ? 0.9 : c.get("name").asText().contains("density=0.5") ? 0.5 : 0.2,
                    c.get("recipe").get("parameters").get("density").asDouble(), 0.0);
        }
        // --write-top 2: exactly the two best, each byte-identical to merge --config on the recipe written beside it
        List<String> top;
        try (Stream<Path> s = Files.list(out.resolve("top"))) {
            top = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(List.of("1-" + doc.get("candidates").get(0).get("name").asText(), "2-" + doc.get("candidates").get(1).get("name").asText()), top);
        for (String dir : top) {
            Path plain = tmp.resolve("plain-" + dir);
            Cli.Run m = Cli.run("merge", "--config", out.resolve("top").resolve(dir).resolve("recipe.yaml").toString(), "--out", plain.toString());
            assertEquals(0, m.exit(), m.err());
            for (String f : List.of("model.safetensors", "config.json")) {
                assertArrayEquals(Files.readAllBytes(plain.resolve(f)), Files.readAllBytes(out.resolve("top").resolve(dir).resolve(f)), dir + "/" + f);
            }
        }
        // one candidate over the same models: the same passes read the same, one read of each source's step per unit
        Path one = tmp.resolve("one");
        assertEquals(0, screen(grid(tmp, "one", ties.replace("DENSITIES", "[0.5]").replace("WEIGHTS", "[1.5]")), one).exit());
        JsonNode r6 = doc.get("run"), r1 = JSON.readTree(one.resolve("screen.json").toFile()).get("run");
        assertEquals(1, r1.get("candidates").asInt());
        assertEquals(readsOf(r6, "measure"), readsOf(r1, "measure"));
        assertEquals(readsOf(r6, "screen"), readsOf(r1, "screen"));
        // the base and 3 models, once per unit (every tensor of these models is one unit and one step)
        assertEquals(4L * r6.get("tensors").asLong(), readsOf(r6, "screen"));
        assertEquals(4L * r6.get("tensors").asLong(), readsOf(r6, "measure"));
        // another score reorders: rel_change ranks the smallest change first
        Path rel = tmp.resolve("rel");
        assertEquals(0, screen(grid(tmp, "grid", ties.replace("DENSITIES", "[0.2, 0.5, 0.9]").replace("WEIGHTS", "[0.5, 1.5]")), rel, "--rank-by", "rel_change",
                "--spectra").exit());
        // --spectra without --spectra-alpha: Δ's ranks, no α anywhere
        int spectra = 0;
        for (String l : Files.readAllLines(rel.resolve("screen_tensors.jsonl"))) {
            JsonNode t = JSON.readTree(l);
            assertTrue(t.get("alpha").isNull(), l);
            if (!t.get("delta_stable_rank").isNull()) spectra++;
        }
        assertTrue(spectra > 0);
        assertFalse(JSON.readTree(rel.resolve("screen.json").toFile()).get("run").get("spectra_alpha").asBoolean());
        double last = -1;
        for (JsonNode c : JSON.readTree(rel.resolve("screen.json").toFile()).get("candidates")) {
            assertTrue(c.get("rel_change").asDouble() >= last);
            last = c.get("rel_change").asDouble();
        }
    }

    static long readsOf(JsonNode run, String kind) {
        for (JsonNode p : run.get("pass_reads")) if (p.get("kind").asText().equals(kind)) return p.get("input_reads").asLong();
        throw new AssertionError("no " + kind + " pass in " + run);
    }

    @Test
    void badGridsAreOneLineExitTwoAndNothingWritten(@TempDir Path tmp) throws IOException {
        String ties = "merge_method: ties\nbase_model: BASE\nmodels:\n  - model: FT0\n    parameters: {weight: 1, density: 0.5}\n  - model: FT1\n    parameters: {weight: 1}\n";
        String[][] cases = {
                {ties + "grid:\n  densty: [0.5]\n", "unknown parameter 'densty' for ties"},
                {ties + "grid:\n  models[2].parameters.weight: [1]\n", "grid key 'models[2].parameters.weight': the recipe has 2 entries"},
                {ties + "grid:\n  model.weight: [1]\n", "unknown grid key 'model.weight'"},
                {ties + "grid:\n  density: []\n", "grid key 'density' needs a non-empty list"},
                {ties + "grid: {}\n", "'grid' must be a non-empty mapping"},
                {ties + "grid:\n  density: [0.5, 1.5]\n", "density=1.5 is outside (0, 1]"},
                {ties, "needs 'candidates:'"},
                {"candidates: []\n", "'candidates' must be a non-empty list"},
                {"candidates:\n  - name: a\n" + ties.replaceAll("(?m)^", "    ") + "  - name: b\n    merge_method: linear\n    base_model: FT2\n    models: [FT0, FT1]\n",
                        "candidate 'b' has base_model"},
        };
        for (String[] c : cases) {
            Path out = tmp.resolve("out");
            Cli.Run run = screen(grid(tmp, "bad", c[0]), out);
            assertEquals(2, run.exit(), c[1] + ": " + run.err());
            assertTrue(run.err().contains(c[1]), c[1] + " not in: " + run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertFalse(Files.exists(out), c[1] + ": the output exists");
        }
        Path out = tmp.resolve("out");
        Path ok = grid(tmp, "ok", ties + "grid:\n  density: [0.5]\n");
        for (String[] opt : new String[][] {{"--rank-by", "cosine"}, {"--write-top", "3"}, {"--rank-by", "alpha_out_of_range"}}) {
            Cli.Run run = screen(ok, out, opt);
            assertEquals(2, run.exit(), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertFalse(Files.exists(out));
        }
        // the α option outside a screen
        Cli.Run run = Cli.run("merge", "--config", ok.toString(), "--spectra-alpha", "--out", out.toString());
        assertEquals(2, run.exit(), run.err());
        assertTrue(run.err().contains("--spectra-alpha and --spectra-max-mb go with --screen GRID"), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertFalse(Files.exists(out));
    }
}
