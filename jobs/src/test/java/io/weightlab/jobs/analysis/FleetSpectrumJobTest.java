package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.linalg.PowerLawOptions;
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
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code spectrum} over a fleet (issue #18) on fleet_compare_check.py's fleet (model a: steps 100, 200, 300; model b:
 * 100, 200; per checkpoint two q_proj F32, two down_proj F16 and an embedding listed as not analysed). Every
 * checkpoint's rows equal a single {@code spectrum} run's on it, value for value (tolerance 0 but svd_seconds, a
 * timing: the same tasks on the same values), with --randomize, --vectors and --fit TPL honoured; pyarrow reads the
 * dataset as one table with model and step, every file with one schema; --append after adding a checkpoint analyses
 * only it and leaves the other files untouched; every refusal is one line, exit 2, and leaves no output.
 */
public class FleetSpectrumJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> FLEET_COLUMNS = Set.of("checkpoint_uri", "checkpoint_key", "checkpoint_identity", "tags", "run_id");

    @BeforeAll
    static void python() {
        Python.require("numpy", "safetensors", "pyarrow");
    }

    /** The same two-series fleet the compare test makes (fleet_compare_check.py make). */
    static Path fleet(Path tmp) {
        return FleetCompareJobTest.fleet(tmp);
    }

    /** --randomize --vectors --fit TPL --seed 7: options that add columns, so the test sees they reach every checkpoint. */
    static SpectrumJob.Options spectrum(String input, String out) {
        return new SpectrumJob.Options(input, out, false, Set.of(), 0, true, new int[] {128, 128}, false, false, 64, 4, 7, 0, null,
                true, true, PowerLawOptions.parse("TPL", "none", null, null, false), true);
    }

    /** A row without the fleet's columns, the nulls (columns a single run writes only on other rows) and svd_seconds. */
    static Map<String, Object> core(Map<String, Object> row) {
        Map<String, Object> m = new TreeMap<>();
        row.forEach((k, v) -> { if (v != null && !FLEET_COLUMNS.contains(k) && !k.equals("svd_seconds")) m.put(k, v); });
        return m;
    }

    @Test
    void everyCheckpointEqualsASingleRunAndTheDatasetReadsAsOneTable(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        Path out = tmp.resolve("spectra");
        FleetSpectrumJob.Result r = FleetSpectrumJob.run(TestSpark.context(), new FleetSpectrumJob.Options(
                List.of(root.resolve("runs") + "/*/checkpoint-*"), null, out.toUri().toString(), FleetDataset.Mode.CREATE, false,
                FleetStatsJob.BadCheckpoints.FAIL, spectrum(null, null)), System.out);
        assertEquals(5, r.rowsByUri().size());
        assertEquals(5, ((List<?>) r.run().get("analysed")).size());

        Map<String, String> singles = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, List<Map<String, Object>>> e : r.rowsByUri().entrySet()) {
            Path single = tmp.resolve("single-" + i++);
            List<SpectrumJob.MatrixResult> want = SpectrumJob.run(TestSpark.context(), spectrum(e.getKey(), single.toString()), System.out);
            singles.put(e.getKey(), single.toString());
            assertEquals(want.stream().map(m -> core(m.row())).toList(), e.getValue().stream().map(FleetSpectrumJobTest::core).toList(), e.getKey());
            assertEquals(4, e.getValue().stream().filter(m -> "ok".equals(m.get("status"))).count(), e.getKey() + ": 4 matrices analysed");
            assertEquals(5, e.getValue().size(), e.getKey() + ": and the embedding listed");
            assertTrue(e.getValue().stream().filter(m -> "ok".equals(m.get("status"))).allMatch(m -> m.get("traps") != null
                    && m.get("tpl_alpha") != null && m.get("bulk_mean_loc_ratio") != null), e.getKey() + ": --randomize, --fit TPL, --vectors columns");
        }

        Path singlesJson = tmp.resolve("singles.json");
        JSON.writeValue(singlesJson.toFile(), singles);
        JsonNode chk = JSON.readTree(Python.script(Python.testScript("fleet_spectrum_check.py"), out.toString(), singlesJson.toString()));
        assertEquals(25, chk.get("rows").asLong(), chk.toString());
        assertEquals(5, chk.get("files").asInt());
        assertEquals(1, chk.get("schemas").asInt(), "every file with one schema");
        Set<String> columns = new TreeSet<>();
        chk.get("columns").forEach(c -> columns.add(c.asText()));
        assertTrue(columns.containsAll(List.of("model", "step", "checkpoint_uri", "checkpoint_key", "checkpoint_identity", "tags", "run_id",
                "name", "alpha", "traps", "tpl_alpha", "mp_sigma2")), columns.toString());
        Set<String> partitions = new TreeSet<>();
        chk.get("partitions").forEach(p -> partitions.add(p.get(0).asText() + "/" + p.get(1).asLong()));
        assertEquals(Set.of("a/100", "a/200", "a/300", "b/100", "b/200"), partitions);
        chk.get("rows_per_checkpoint").forEach(n -> assertEquals(5, n.asInt(), chk.get("rows_per_checkpoint").toString()));
        assertTrue(chk.get("compared_values").asInt() > 25 * 40, chk.toString());
        assertEquals(0, chk.get("mismatches").size(), chk.get("mismatches").toString());
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        assertFalse(Files.exists(out.resolve("_temporary")));
    }

    @Test
    void appendAnalysesOnlyTheNewCheckpointAndLeavesTheOthersUntouched(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        String runs = root.resolve("runs").toString();
        Path list = root.resolve("list.txt");
        Files.writeString(list, String.join("\n", runs + "/a/checkpoint-100", runs + "/a/checkpoint-200", runs + "/b/checkpoint-100",
                runs + "/b/checkpoint-200") + "\n");
        String out = tmp.resolve("spectra").toString();
        Cli.Run first = Cli.run("spectrum", "--inputs", list.toString(), "--out", out, "--method", "exact", "--master", "local[2]");
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("spectrum (fleet): 4 checkpoint(s) analysed, 0 unchanged"), first.out());
        Map<String, String> before = files(Path.of(out));
        assertEquals(4, before.size(), before.toString());

        Files.writeString(list, runs + "/a/checkpoint-300\n", java.nio.file.StandardOpenOption.APPEND);
        Cli.Run append = Cli.run("spectrum", "--inputs", list.toString(), "--out", out, "--method", "exact", "--master", "local[2]", "--append");
        assertEquals(0, append.exit(), append.err());
        assertTrue(append.out().contains("spectrum (fleet): 1 checkpoint(s) analysed, 4 unchanged"), append.out());
        Map<String, String> after = files(Path.of(out));
        assertEquals(5, after.size(), after.toString());
        before.forEach((f, stamp) -> assertEquals(stamp, after.get(f), f + " untouched by --append"));
        String added = after.keySet().stream().filter(f -> !before.containsKey(f)).findFirst().orElseThrow();
        assertTrue(added.startsWith("model=a/step=300/part-"), added);
        JsonNode record = lastRecord(Path.of(out));
        assertEquals(1, record.get("analysed").size());
        assertTrue(record.get("analysed").get(0).get("uri").asText().endsWith("a/checkpoint-300"), record.toString());
        assertEquals("spectrum", record.get("job").asText());

        // without --append an existing dataset is refused; with it and nothing new, nothing is analysed
        Cli.Run again = Cli.run("spectrum", "--inputs", list.toString(), "--out", out, "--master", "local[2]");
        assertEquals(2, again.exit(), again.err());
        assertTrue(again.err().contains("--append"), again.err());
        Cli.Run none = Cli.run("spectrum", "--inputs", list.toString(), "--out", out, "--method", "exact", "--master", "local[2]", "--append");
        assertEquals(0, none.exit(), none.err());
        assertTrue(none.out().contains("0 checkpoint(s) analysed, 5 unchanged"), none.out());
        assertEquals(after, files(Path.of(out)));

        // stats rows appended to a spectrum dataset would be a second table in it: refused, nothing touched
        JsonNode lastBefore = lastRecord(Path.of(out));
        Cli.Run stats = Cli.run("stats", "--inputs", list.toString(), "--out", out, "--master", "local[2]", "--append");
        assertEquals(2, stats.exit(), stats.err());
        List<String> errors = stats.err().lines().filter(l -> l.contains("error:")).toList();
        assertEquals(1, errors.size(), stats.err());
        assertTrue(errors.get(0).contains("holds a `spectrum` fleet dataset; a `stats` run would mix"), errors.get(0));
        assertEquals(after, files(Path.of(out)));
        assertEquals(lastBefore, lastRecord(Path.of(out)), "no run record for the refused run");
    }

    /** The dataset's Parquet files, relative, each with its modification time and size. */
    static Map<String, String> files(Path dataset) throws java.io.IOException {
        Map<String, String> m = new TreeMap<>();
        for (String f : FleetCompareJobTest.parquetFiles(dataset)) {
            Path p = dataset.resolve(f);
            m.put(f, Files.getLastModifiedTime(p).toMillis() + "/" + Files.size(p));
        }
        return m;
    }

    static JsonNode lastRecord(Path dataset) throws java.io.IOException {
        try (java.util.stream.Stream<Path> l = Files.list(dataset.resolve("_fleet/runs"))) {
            return JSON.readTree(l.sorted().reduce((a, b) -> b).orElseThrow().toFile());
        }
    }

    @Test
    void badCheckpointsFailOrAreSkippedAndListed(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        Path bad = root.resolve("runs/c/checkpoint-100");
        Files.createDirectories(bad);
        Files.write(bad.resolve("model.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, '{', '}'});
        String glob = root.resolve("runs") + "/*/checkpoint-*";
        Path failed = tmp.resolve("fail");
        Cli.Run fail = Cli.run("spectrum", glob, "--fleet", "--out", failed.toString(), "--master", "local[2]");
        assertEquals(2, fail.exit(), fail.err());
        assertTrue(fail.err().contains("c/checkpoint-100"), fail.err());
        assertFalse(Files.exists(failed), "a failed fleet run writes nothing");

        Path skipped = tmp.resolve("skip");
        Cli.Run skip = Cli.run("spectrum", glob, "--fleet", "--out", skipped.toString(), "--master", "local[2]", "--bad-checkpoints", "skip");
        assertEquals(0, skip.exit(), skip.err());
        assertTrue(skip.out().contains("5 checkpoint(s) analysed, 0 unchanged, 1 bad"), skip.out());
        assertEquals(5, FleetCompareJobTest.parquetFiles(skipped).size());
        JsonNode record = lastRecord(skipped);
        assertEquals(1, record.get("bad_checkpoints").size());
        assertTrue(record.get("bad_checkpoints").get(0).get("uri").asText().contains("c/checkpoint-100"), record.toString());
    }

    @Test
    void refusalsAreOneLineExitTwoAndWriteNothing(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        String runs = root.resolve("runs").toString();
        // a PEFT adapter directory among the inputs (its weights: any safetensors file)
        Path adapter = root.resolve("adapter");
        Files.createDirectories(adapter);
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"r\": 2, \"lora_alpha\": 4, \"peft_type\": \"LORA\"}");
        Files.copy(Path.of(runs, "a", "checkpoint-100", "model.safetensors"), adapter.resolve("adapter_model.safetensors"));
        record Case(String why, String expect, String... args) {}
        List<Case> cases = List.of(
                new Case("--base", "--base goes with one PEFT adapter directory", runs + "/*/checkpoint-*", "--fleet", "--base", runs + "/a/checkpoint-100"),
                new Case("--factors", "--factors writes factor files per checkpoint", runs + "/a/checkpoint-100", runs + "/a/checkpoint-200", "--factors", "4"),
                new Case("an adapter", "a PEFT adapter directory; a fleet spectrum takes full checkpoints", runs + "/a/checkpoint-100", adapter.toString()),
                new Case("--include head", "checkpoint-100: --include head", runs + "/a/checkpoint-100", runs + "/a/checkpoint-200", "--include", "head"),
                new Case("--append --overwrite", "--append and --overwrite exclude each other", runs + "/a/checkpoint-100", "--append", "--overwrite"),
                new Case("a glob matching nothing", "no checkpoint matches", runs + "/nothing-*", runs + "/a/checkpoint-100"));
        for (Case c : cases) {
            Path out = tmp.resolve("out-" + c.why().replaceAll("[^a-z]+", "-"));
            List<String> args = new ArrayList<>(List.of("spectrum"));
            args.addAll(List.of(c.args()));
            args.addAll(List.of("--out", out.toString(), "--master", "local[2]"));
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.exit(), c.why() + ": " + r.err());
            List<String> errors = r.err().lines().filter(l -> l.contains("error:")).toList();
            assertEquals(1, errors.size(), c.why() + ": " + r.err());
            assertTrue(errors.get(0).contains(c.expect()), c.why() + ": " + errors.get(0));
            assertFalse(Files.exists(out), c.why() + ": nothing written");
        }
        // a fleet needs --out
        Cli.Run noOut = Cli.run("spectrum", runs + "/a/checkpoint-100", runs + "/a/checkpoint-200", "--master", "local[2]");
        assertEquals(2, noOut.exit(), noOut.err());
        assertEquals(1, noOut.err().lines().filter(l -> l.contains("error:")).count(), noOut.err());
    }
}
