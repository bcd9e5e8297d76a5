package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code compare --against} over a fleet (issue #18) on fleet_compare_check.py's fleet: two training series (model a:
 * steps 100, 200, 300; model b: 100, 200) and a fixed reference. For previous and first, the (checkpoint, reference)
 * pairs are exactly the expected ones, every row equals a single {@code compare REF C} run's (exactly: same slices,
 * same merge order) and numpy's float64 values (relative 1e-9), and pyarrow reads the dataset as one table with the
 * partition columns. Every refusal is one line, exit 2, and leaves no output.
 */
public class FleetCompareJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> FLEET_COLUMNS = Set.of("level", "checkpoint_uri", "checkpoint_key", "checkpoint_identity", "against_uri",
            "against_key", "against_identity", "against_step", "tags", "run_id");

    @BeforeAll
    static void python() {
        Python.require("numpy", "safetensors", "pyarrow");
    }

    static Path fleet(Path tmp) {
        Path root = tmp.resolve("fleet");
        Python.script(Python.testScript("fleet_compare_check.py"), "make", root.toString());
        return root;
    }

    static FleetCompareJob.Options options(List<String> inputs, String out, String against) {
        return new FleetCompareJob.Options(inputs, null, out, io.weightlab.common.fleet.FleetDataset.Mode.CREATE, false, FleetStatsJob.BadCheckpoints.FAIL, against, false, false, new double[] {0.01, 0.001}, true, 0, 64 << 10);
    }

    /** checkpoint-STEP of run MODEL, as the job names it (the root of the opened checkpoint). */
    static String uri(Map<String, List<Map<String, Object>>> rowsByUri, String model, int step) {
        String tail = "/runs/" + model + "/checkpoint-" + step;
        return rowsByUri.keySet().stream().filter(u -> u.endsWith(tail) || u.endsWith(tail + "/model.safetensors")).findFirst()
                .orElseGet(() -> rowsByUri.values().stream().flatMap(List::stream).map(r -> (String) r.get("against_uri"))
                        .filter(u -> u.endsWith(tail) || u.endsWith(tail + "/model.safetensors")).findFirst().orElseThrow(() -> new AssertionError(tail)));
    }

    /** The (checkpoint, reference) pairs of a result, as "model/step <- model/step". */
    static Set<String> pairs(FleetCompareJob.Result r) {
        Set<String> out = new TreeSet<>();
        r.rowsByUri().forEach((u, rows) -> {
            assertTrue(rows.stream().map(x -> x.get("against_uri")).distinct().count() == 1, u + ": one reference per checkpoint");
            out.add(short_(u) + " <- " + short_((String) rows.get(0).get("against_uri")));
        });
        return out;
    }

    static String short_(String uri) {
        String p = uri.replaceAll("/model\\.safetensors$", "");
        String[] parts = p.split("/");
        return parts[parts.length - 2] + "/" + parts[parts.length - 1].replace("checkpoint-", "");
    }

    /** A row without the columns only one side has (fleet columns, CompareJob's checkpoint columns, nulls). */
    static Map<String, Object> core(Map<String, Object> row) {
        Map<String, Object> m = new LinkedHashMap<>();
        row.forEach((k, v) -> { if (v != null && !FLEET_COLUMNS.contains(k) && !k.equals("checkpoint") && !k.equals("checkpoint_index")) m.put(k, v); });
        return m;
    }

    @Test
    void previousAndFirstEqualSinglePairRunsAndNumpyAndReadAsOneTable(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        List<String> inputs = List.of(root.resolve("runs").toString() + "/*/checkpoint-*");
        Map<String, Set<String>> expected = Map.of(
                "previous", Set.of("a/200 <- a/100", "a/300 <- a/200", "b/200 <- b/100"),
                "first", Set.of("a/200 <- a/100", "a/300 <- a/100", "b/200 <- b/100"));
        for (String against : List.of("previous", "first")) {
            Path out = tmp.resolve("cmp-" + against);
            FleetCompareJob.Result r = FleetCompareJob.run(TestSpark.context(), options(inputs, out.toUri().toString(), against), System.out);
            assertEquals(expected.get(against), pairs(r), against);

            // every checkpoint's rows equal a single compare REF C run's, value for value (tolerance 0)
            int singleRuns = 0;
            for (Map.Entry<String, List<Map<String, Object>>> e : r.rowsByUri().entrySet()) {
                String ref = (String) e.getValue().get(0).get("against_uri");
                Path single = tmp.resolve("single-" + against + "-" + singleRuns++);
                Map<String, Object> s = CompareJob.run(TestSpark.context(), new CompareJob.Options(ref, List.of(e.getKey()), single.toString(), false, false,
                        false, new double[] {0.01, 0.001}, true, 0, 64 << 10), System.out);
                List<Map<String, Object>> want = new ArrayList<>();
                for (Object t : (List<?>) s.get("tensors")) want.add(core(castMap(t)));
                for (Object l : (List<?>) s.get("layers")) want.add(core(castMap(l)));
                List<Map<String, Object>> got = e.getValue().stream().map(FleetCompareJobTest::core).toList();
                assertEquals(want, got, e.getKey() + " against " + ref);
                assertTrue(e.getValue().stream().filter(x -> "tensor".equals(x.get("level"))).count() == 5, "5 kernels: " + e.getKey());
            }
            assertEquals(3, singleRuns);

            // pyarrow reads one table with model and step; numbers against numpy
            JsonNode chk = JSON.readTree(Python.script(Python.testScript("fleet_compare_check.py"), "check", out.toString()));
            long written = r.rowsByUri().values().stream().mapToLong(List::size).sum();
            assertEquals(written, chk.get("rows").asLong(), against);
            Set<String> columns = new TreeSet<>();
            chk.get("columns").forEach(c -> columns.add(c.asText()));
            assertTrue(columns.containsAll(List.of("model", "step", "checkpoint_uri", "checkpoint_identity", "against_uri", "rotation", "delta_rank_0.01")), columns.toString());
            Set<String> partitions = new TreeSet<>();
            chk.get("pairs").forEach(p -> partitions.add(p.get(0).asText() + "/" + p.get(1).asLong() + " <- " + short_(p.get(3).asText())));
            assertEquals(expected.get(against), partitions, "model and step partitions name the checkpoint: " + chk.get("pairs"));
            assertEquals(3 * 5, chk.get("tensors_checked").asInt());
            assertEquals(3 * 2, chk.get("layers_checked").asInt());
            chk.get("max_rel_err").fields().forEachRemaining(f -> assertTrue(f.getValue().asDouble() < 1e-9, against + " " + f.getKey() + ": " + f.getValue()));
            assertEquals(9, chk.get("max_rel_err").size(), chk.get("max_rel_err").toString());
            assertFalse(chk.has("rank_mismatches"), chk.toString());
            assertFalse(Files.exists(out.resolve("_temporary")));
            assertTrue(Files.exists(out.resolve("_SUCCESS")));

            // one checkpoint a wave (each committed when its wave ends): the same rows
            org.apache.hadoop.conf.Configuration conf = TestSpark.context().hadoopConfiguration();
            conf.setLong(FleetStatsJob.WAVE_BYTES, 1);
            try {
                FleetCompareJob.Result waves = FleetCompareJob.run(TestSpark.context(), options(inputs, tmp.resolve("waves-" + against).toUri().toString(), against), System.out);
                assertEquals(3, ((List<?>) waves.run().get("compared")).size());
                for (String u : r.rowsByUri().keySet()) {
                    assertEquals(r.rowsByUri().get(u).stream().map(FleetCompareJobTest::core).toList(),
                            waves.rowsByUri().get(u).stream().map(FleetCompareJobTest::core).toList(), u + " in three waves");
                }
            } finally {
                conf.unset(FleetStatsJob.WAVE_BYTES);
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> castMap(Object o) {
        return (Map<String, Object>) o;
    }

    /**
     * `compare --against previous --append` on a growing series: the first run compares a/200 and b/200; a new a/300
     * is the only comparison of the next run; rewriting a/200 redoes a/200 (its identity) and a/300 (its reference's
     * identity) and leaves b/200. After each run the dataset holds each (checkpoint, reference) pair once and every row
     * equals numpy's float64 values recomputed from the files as they are now (fleet_compare_check.py, 1e-9 relative),
     * so no stale row survives. Dropping b from the inputs keeps its rows (listed) unless --prune. An unreadable a/200
     * with --bad-checkpoints skip is as if absent (a/300 against a/100); readable again, a/200 and a/300 are redone.
     */
    @Test
    void appendComparesOnlyWhatIsNewOrWhoseReferenceChanged(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        Path a300 = root.resolve("runs/a/checkpoint-300"), held = tmp.resolve("held-300");
        Files.move(a300, held);
        Path out = tmp.resolve("cmp-append");
        String glob = root.resolve("runs") + "/*/checkpoint-*";
        JsonNode first = append(out, glob, Set.of("a/200 <- a/100", "b/200 <- b/100"));
        assertEquals(2, first.get("compared").size());
        assertEquals(0, first.get("unchanged").asInt());

        Files.move(held, a300);
        JsonNode grown = append(out, glob, Set.of("a/200 <- a/100", "a/300 <- a/200", "b/200 <- b/100"));
        assertEquals(List.of("a/300"), comparedOf(grown), "only the new checkpoint");
        assertEquals(2, grown.get("unchanged").asInt());

        // a/200 rewritten (b/200's weights, same shapes): it and its successor are compared again, b/200 is not
        Path a200 = root.resolve("runs/a/checkpoint-200/model.safetensors");
        Files.copy(root.resolve("runs/b/checkpoint-200/model.safetensors"), a200, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(a200, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        JsonNode rewritten = append(out, glob, Set.of("a/200 <- a/100", "a/300 <- a/200", "b/200 <- b/100"));
        assertEquals(List.of("a/200", "a/300"), comparedOf(rewritten), "the rewritten checkpoint and the one compared against it");
        assertEquals(1, rewritten.get("unchanged").asInt());

        // b leaves the inputs: its rows stay and are listed; with --prune they go
        String onlyA = root.resolve("runs") + "/a/checkpoint-*";
        JsonNode kept = append(out, onlyA, Set.of("a/200 <- a/100", "a/300 <- a/200", "b/200 <- b/100"));
        assertEquals(1, kept.get("not_compared_now").size(), kept.toString());
        assertEquals(0, kept.get("compared").size());
        JsonNode pruned = append(out, onlyA, Set.of("a/200 <- a/100", "a/300 <- a/200"), "--prune");
        assertEquals(1, pruned.get("pruned").size(), pruned.toString());

        // a/200 unreadable, skipped: a/300 is compared with a/100 (a/200 as if absent); readable again, both are redone
        Path saved = tmp.resolve("a200.safetensors");
        Files.copy(a200, saved);
        Files.write(a200, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, '{', '}'});
        JsonNode skipped = append(out, onlyA, Set.of("a/300 <- a/100"), "--bad-checkpoints", "skip", "--prune");
        assertEquals(1, skipped.get("bad_checkpoints").size(), skipped.toString());
        assertTrue(skipped.get("bad_checkpoints").get(0).get("uri").asText().endsWith("a/checkpoint-200"), skipped.toString());
        assertEquals(List.of("a/300"), comparedOf(skipped));
        Files.copy(saved, a200, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        JsonNode healed = append(out, onlyA, Set.of("a/200 <- a/100", "a/300 <- a/200"), "--bad-checkpoints", "skip");
        assertEquals(List.of("a/200", "a/300"), comparedOf(healed));
        assertEquals(0, healed.get("bad_checkpoints").size());

        Cli.Run both = Cli.run("compare", "--against", "previous", glob, "--out", out.toString(), "--append", "--overwrite");
        assertEquals(2, both.exit(), both.err());
        assertTrue(both.err().contains("--append and --overwrite exclude each other"), both.err());
        Cli.Run single = Cli.run("compare", glob.replace("*/checkpoint-*", "a/checkpoint-100"), glob.replace("*/checkpoint-*", "a/checkpoint-200"),
                "--out", tmp.resolve("single").toString(), "--append");
        assertEquals(2, single.exit(), single.err());
        assertTrue(single.err().contains("go with --against"), single.err());
        assertFalse(Files.exists(tmp.resolve("single")));
    }

    /** One `compare --against previous --append` run; checks the dataset's pairs and its numbers against numpy; returns the run record. */
    private static JsonNode append(Path out, String glob, Set<String> pairs, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("compare", "--against", "previous", glob, "--out", out.toString(), "--append", "--no-delta-rank"));
        args.addAll(List.of(more));
        Cli.Run r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        JsonNode chk = JSON.readTree(Python.script(Python.testScript("fleet_compare_check.py"), "check", out.toString()));
        List<String> got = new ArrayList<>();
        chk.get("pairs").forEach(p -> got.add(p.get(0).asText() + "/" + p.get(1).asLong() + " <- " + short_(p.get(3).asText())));
        assertEquals(pairs, new TreeSet<>(got), "the dataset's pairs");
        chk.get("max_rel_err").fields().forEachRemaining(f -> assertTrue(f.getValue().asDouble() < 1e-9, f.getKey() + ": " + f.getValue()));
        assertEquals(pairs.size(), parquetFiles(out).size(), "one file per compared checkpoint, none stale: " + parquetFiles(out));
        try (java.util.stream.Stream<Path> records = Files.list(out.resolve("_fleet/runs"))) {
            return JSON.readTree(records.sorted().reduce((x, y) -> y).orElseThrow().toFile());
        }
    }

    private static List<String> comparedOf(JsonNode record) {
        List<String> l = new ArrayList<>();
        record.get("compared").forEach(c -> l.add(c.get("model").asText() + "/" + c.get("step").asLong()));
        java.util.Collections.sort(l);
        return l;
    }

    @Test
    void againstAFileComparesEveryCheckpointWithIt(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        Path out = tmp.resolve("cmp-file");
        Cli.Run r = Cli.run("compare", "--against", root.resolve("base.safetensors").toString(), root.resolve("runs") + "/*/checkpoint-*",
                "--out", out.toString(), "--no-delta-rank");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("5 checkpoint(s) compared against"), r.out());
        JsonNode chk = JSON.readTree(Python.script(Python.testScript("fleet_compare_check.py"), "check", out.toString()));
        Set<String> against = new TreeSet<>(), compared = new TreeSet<>();
        chk.get("pairs").forEach(p -> {
            against.add(p.get(3).asText().replaceAll(".*/", ""));
            compared.add(p.get(0).asText() + "/" + p.get(1).asLong());
            assertTrue(p.get(4).isNull(), "base.safetensors has no step: " + p);
        });
        assertEquals(Set.of("base.safetensors"), against);
        assertEquals(Set.of("a/100", "a/200", "a/300", "b/100", "b/200"), compared);
        assertTrue(chk.get("max_rel_err").get("rotation").asDouble() < 1e-9, chk.toString());
        assertFalse(chk.get("columns").toString().contains("delta_rank"), "--no-delta-rank: no rank columns in any file");

        // an existing dataset needs --overwrite; then the series' first checkpoints, now references only, lose their rows
        Cli.Run again = Cli.run("compare", "--against", "previous", root.resolve("runs") + "/*/checkpoint-*", "--out", out.toString());
        assertEquals(2, again.exit(), again.err());
        assertTrue(again.err().contains("--overwrite"), again.err());
        assertEquals(5, parquetFiles(out).size());
        Cli.Run over = Cli.run("compare", "--against", "previous", root.resolve("runs") + "/*/checkpoint-*", "--out", out.toString(), "--overwrite");
        assertEquals(0, over.exit(), over.err());
        List<String> files = parquetFiles(out);
        assertEquals(3, files.size(), files.toString());
        assertTrue(files.stream().noneMatch(f -> f.contains("step=100/")), files.toString());
    }

    static List<String> parquetFiles(Path dataset) throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = Files.walk(dataset)) {
            return s.map(p -> dataset.relativize(p).toString()).filter(p -> p.endsWith(".parquet") && !p.startsWith("_")).sorted().toList();
        }
    }

    @Test
    void badInputIsOneLineExitTwoAndWritesNothing(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        String runs = root.resolve("runs").toString();
        record Case(String why, String expect, String... args) {}
        List<Case> cases = List.of(
                new Case("a single input", "needs at least two checkpoints", "--against", "first", runs + "/a/checkpoint-100"),
                new Case("a missing FILE", "no such checkpoint", "--against", root.resolve("nope.safetensors").toString(), runs + "/*/checkpoint-*"),
                new Case("a misspelled keyword", "did you mean 'previous'", "--against", "previus", runs + "/*/checkpoint-*"),
                new Case("shapes that differ", "'model.layers.0.self_attn.q_proj.weight' has shape [32, 25] here but [32, 24] in the reference",
                        "--against", "previous", root.resolve("shapes") + "/x/checkpoint-*"),
                new Case("--inputs without --against", "--against first|previous|FILE", "--inputs", root.resolve("list.txt").toString()));
        Files.writeString(root.resolve("list.txt"), runs + "/a/checkpoint-100\n" + runs + "/a/checkpoint-200\n");
        for (Case c : cases) {
            Path out = tmp.resolve("out-" + c.why().replace(' ', '-'));
            List<String> args = new ArrayList<>(List.of("compare"));
            args.addAll(List.of(c.args()));
            args.addAll(List.of("--out", out.toString()));
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.exit(), c.why() + ": " + r.err());
            List<String> errors = r.err().lines().filter(l -> l.contains("error:")).toList();
            assertEquals(1, errors.size(), c.why() + ": " + r.err());
            assertTrue(errors.get(0).contains(c.expect()), c.why() + ": " + errors.get(0));
            assertFalse(Files.exists(out), c.why() + ": nothing written");
        }
    }
}
