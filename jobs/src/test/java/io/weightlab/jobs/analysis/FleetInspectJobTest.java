package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
 * {@code inspect} over a fleet (issue #18) on fleet_inventory.py's checkpoints (F32, F16, BF16, F8_E4M3, U8, I32,
 * I64, a 0-d scalar, an MoE block, two shards with an index; three of them written byte by byte) and the MiniLM
 * fixtures (one file; four shards of int8 weights with their scales). Headers are read on the executors; each
 * checkpoint's rows equal InspectJob.tensorRows and a single {@code inspect --format parquet} run on it, and their
 * name, dtype, shape, parameters, bytes and shard equal the header bytes as Python parses them; pyarrow reads the
 * dataset as one table. --append writes only new checkpoints; bad checkpoints fail (one line, nothing written) or are
 * skipped and listed; a glob matching nothing is an error.
 */
public class FleetInspectJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> FLEET_COLUMNS = FleetSpectrumJobTest.FLEET_COLUMNS;

    @BeforeAll
    static void python() {
        Python.require("numpy", "safetensors", "pyarrow");
    }

    static Path fleet(Path tmp) {
        Path root = tmp.resolve("fleet");
        Python.script(Python.testScript("fleet_inventory.py"), "make", root.toString());
        return root;
    }

    /** A written row without the fleet's columns: the inventory row as a single inspect makes it. */
    static Map<String, Object> inventory(Map<String, Object> row) {
        Map<String, Object> m = new LinkedHashMap<>(row);
        m.keySet().removeAll(FLEET_COLUMNS);
        return m;
    }

    @Test
    void everyCheckpointEqualsASingleInspectAndItsHeaderAndTheDatasetReadsAsOneTable(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        List<String> inputs = new ArrayList<>(List.of(root.resolve("runs") + "/*/checkpoint-*"));
        if (Files.isDirectory(Fixtures.sharedDir()) || Fixtures.inCi()) {
            for (String f : List.of("all-minilm-l6-v2", "all-minilm-l6-v2-q-sharded")) inputs.add(Fixtures.dir(f).toString());
        } else {
            System.out.println("FleetInspectJobTest: fixture folder " + Fixtures.sharedDir() + " is absent: the fleet is the synthetic checkpoints only");
        }
        int expected = inputs.size() - 1 + 4;
        inputs.add(root.resolve("runs/a/checkpoint-100/model.safetensors").toString()); // the same files again: read once
        Path out = tmp.resolve("inventory");

        Configuration conf = TestSpark.context().hadoopConfiguration();
        conf.setInt(FleetStatsJob.DRIVER_HEADERS_MAX, 2); // more than 2: headers on the executors
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        FleetInspectJob.Result r;
        try (PrintStream ps = new PrintStream(console, true, StandardCharsets.UTF_8)) {
            r = FleetInspectJob.run(TestSpark.context(), new FleetInspectJob.Options(inputs, null, out.toString(), FleetDataset.Mode.CREATE,
                    false, FleetStatsJob.BadCheckpoints.FAIL), FleetInspectJob.Listing.LINE, ps);
            FleetInspectJob.printSummary(r, out.toString(), ps);
        } finally {
            conf.unset(FleetStatsJob.DRIVER_HEADERS_MAX);
        }
        String text = console.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        assertTrue(text.contains("reading " + (expected + 1) + " checkpoint headers on the executors"), text);
        assertEquals(expected, r.checkpoints().size());
        assertEquals(expected, ((List<?>) r.run().get("analysed")).size());
        assertEquals(1, ((List<?>) r.run().get("duplicates")).size(), "checkpoint-100 named twice");

        Map<String, String> singles = new LinkedHashMap<>();
        long tensors = 0;
        int i = 0;
        for (FleetInspectJob.Inventory inv : r.checkpoints()) {
            List<Map<String, Object>> want = InspectJob.tensorRows(CheckpointCatalog.open(new Configuration(), inv.uri()));
            assertEquals(want, inv.rows().stream().map(FleetInspectJobTest::inventory).toList(), inv.uri());
            assertTrue(text.contains(InspectJob.summaryLine(CheckpointCatalog.open(new Configuration(), inv.uri()))), inv.uri() + ": its line\n" + text);
            Path single = tmp.resolve("single-" + i++);
            Cli.Run s = Cli.run("inspect", inv.uri(), "--out", single.toString(), "--format", "parquet", "--summary");
            assertEquals(0, s.exit(), s.err());
            singles.put(inv.uri(), single.toString());
            tensors += want.size();
        }
        assertTrue(text.contains("inspect (fleet): " + expected + " checkpoint(s) analysed, 0 unchanged, 0 bad: " + tensors + " tensors"), text);
        assertEquals(tensors, r.run().get("tensors"));

        Path singlesJson = tmp.resolve("singles.json");
        JSON.writeValue(singlesJson.toFile(), singles);
        JsonNode chk = JSON.readTree(Python.script(Python.testScript("fleet_inventory.py"), "check", out.toString(), singlesJson.toString()));
        assertEquals(0, chk.get("mismatches").size(), chk.get("mismatches").toString());
        assertEquals(tensors, chk.get("rows").asLong(), chk.toString());
        assertTrue(chk.get("compared_values").asLong() >= 18 * tensors, chk.toString());
        assertEquals(expected, chk.get("files").asInt());
        assertEquals(1, chk.get("schemas").asInt(), "every file with one schema");
        Set<String> columns = new TreeSet<>();
        chk.get("columns").forEach(c -> columns.add(c.asText()));
        assertEquals(new TreeSet<>(List.of("name", "dtype", "shape", "parameters", "bytes", "shard", "stack", "layer", "expert", "module_kind",
                "role", "param", "checkpoint_uri", "checkpoint_key", "checkpoint_identity", "tags", "run_id", "model", "step")), columns);
        Set<String> partitions = new TreeSet<>();
        chk.get("partitions").forEach(p -> partitions.add(p.get(0).asText() + "/" + p.get(1).asText()));
        assertTrue(partitions.containsAll(Set.of("a/100", "a/200", "b/100", "b/200")), partitions.toString());
        assertEquals(expected, partitions.size(), partitions.toString());
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        assertFalse(Files.exists(out.resolve("_temporary")));
    }

    @Test
    void appendWritesOnlyTheNewCheckpointsAndLeavesTheOthersUntouched(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        String glob = root.resolve("runs") + "/*/checkpoint-*";
        String out = tmp.resolve("inventory").toString();
        Cli.Run first = Cli.run("inspect", glob, "--fleet", "--out", out, "--master", "local[2]");
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("inspect (fleet): 4 checkpoint(s) analysed, 0 unchanged, 0 bad"), first.out());
        Map<String, String> before = FleetSpectrumJobTest.files(Path.of(out));
        assertEquals(4, before.size(), before.toString());

        // the four committed checkpoints' headers garbled, their length and mtime kept: --append must not read them
        Map<Path, byte[]> originals = new java.util.HashMap<>();
        try (java.util.stream.Stream<Path> files = Files.walk(root.resolve("runs"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                byte[] b = Files.readAllBytes(f);
                originals.put(f, b.clone());
                java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(f);
                java.util.Arrays.fill(b, 0, 8, (byte) 0xFF);
                Files.write(f, b);
                Files.setLastModifiedTime(f, mtime);
            }
        }
        Python.script(Python.testScript("fleet_inventory.py"), "more", root.toString());
        Cli.Run append = Cli.run("inspect", glob, "--fleet", "--out", out, "--master", "local[2]", "--append");
        for (Map.Entry<Path, byte[]> e : originals.entrySet()) {
            java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(e.getKey());
            Files.write(e.getKey(), e.getValue());
            Files.setLastModifiedTime(e.getKey(), mtime);
        }
        assertEquals(0, append.exit(), "the unchanged checkpoints' headers were read: " + append.err());
        assertTrue(append.out().contains("inspect (fleet): 2 checkpoint(s) analysed, 4 unchanged, 0 bad: 4 tensors"), append.out());
        assertEquals(2, append.out().lines().filter(l -> l.contains(" tensors, ") && l.contains("[model ")).count(), "one line per new checkpoint:\n" + append.out());
        Map<String, String> after = FleetSpectrumJobTest.files(Path.of(out));
        assertEquals(6, after.size(), after.toString());
        before.forEach((f, stamp) -> assertEquals(stamp, after.get(f), f + " untouched by --append"));
        assertEquals(Set.of("a/300", "c/100"), new TreeSet<>(after.keySet().stream().filter(f -> !before.containsKey(f))
                .map(f -> f.replaceAll("^model=([^/]+)/step=(\\d+)/part-.*", "$1/$2")).toList()));
        JsonNode record = FleetSpectrumJobTest.lastRecord(Path.of(out));
        assertEquals("inspect", record.get("job").asText());
        assertEquals(2, record.get("analysed").size(), record.toString());
        assertEquals(4, record.get("unchanged").asInt());
        assertEquals(4, record.get("tensors").asLong());
        assertEquals("none", record.get("spark_master").asText(), "6 checkpoints' headers are read on the driver: no Spark is started");

        // an existing dataset without --append is refused; --each prints each checkpoint's table
        Cli.Run again = Cli.run("inspect", glob, "--fleet", "--out", out, "--master", "local[2]");
        assertEquals(2, again.exit(), again.err());
        assertTrue(again.err().contains("--append"), again.err());
        Cli.Run each = Cli.run("inspect", glob, "--fleet", "--master", "local[2]", "--each");
        assertEquals(0, each.exit(), each.err());
        assertTrue(each.out().contains("transformer.h.0.attn.c_attn.weight") && each.out().contains("by module_kind"), each.out());
        assertTrue(each.out().contains("inspect (fleet): 6 checkpoint(s) analysed") && !each.out().contains("output:"), each.out());
        assertEquals(after, FleetSpectrumJobTest.files(Path.of(out)), "a run without --out writes nothing");
    }

    @Test
    void aCorruptCheckpointFailsWithOneLineOrIsSkippedAndListed(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        Path bad = root.resolve("runs/c/checkpoint-100/model.safetensors");
        Files.createDirectories(bad.getParent());
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, '{', '}'});
        String glob = root.resolve("runs") + "/*/checkpoint-*";
        Path failed = tmp.resolve("fail");
        Cli.Run fail = Cli.run("inspect", glob, "--fleet", "--out", failed.toString(), "--master", "local[2]");
        assertEquals(2, fail.exit(), fail.err());
        List<String> errors = fail.err().lines().filter(l -> l.contains("error:")).toList();
        assertEquals(1, errors.size(), fail.err());
        assertTrue(errors.get(0).contains("c/checkpoint-100/model.safetensors"), errors.get(0));
        assertFalse(Files.exists(failed), "a failed fleet run writes nothing");

        Path skipped = tmp.resolve("skip");
        Cli.Run skip = Cli.run("inspect", glob, "--fleet", "--out", skipped.toString(), "--master", "local[2]", "--bad-checkpoints", "skip");
        assertEquals(0, skip.exit(), skip.err());
        assertTrue(skip.out().contains("4 checkpoint(s) analysed, 0 unchanged, 1 bad"), skip.out());
        assertTrue(skip.out().lines().anyMatch(l -> l.contains("bad checkpoint skipped") && l.contains("c/checkpoint-100")), skip.out());
        List<String> files = FleetCompareJobTest.parquetFiles(skipped);
        assertEquals(4, files.size(), files.toString());
        assertTrue(files.stream().noneMatch(f -> f.startsWith("model=c")), files.toString());
        JsonNode record = FleetSpectrumJobTest.lastRecord(skipped);
        assertEquals(1, record.get("bad_checkpoints").size());
        assertTrue(record.get("bad_checkpoints").get(0).get("uri").asText().contains("c/checkpoint-100"), record.toString());
    }

    @Test
    void refusalsAreOneLineExitTwoAndWriteNothing(@TempDir Path tmp) throws Exception {
        Path root = fleet(tmp);
        String runs = root.resolve("runs").toString();
        record Case(String why, String expect, String... args) {}
        List<Case> cases = List.of(
                new Case("a glob matching nothing", "no checkpoint matches", runs + "/nothing-*", runs + "/a/checkpoint-100", "--out"),
                new Case("--format json", "--format: a fleet writes one Parquet dataset", runs + "/a/checkpoint-100", runs + "/a/checkpoint-200",
                        "--format", "json", "--out"),
                new Case("--append --overwrite", "--append and --overwrite exclude each other", runs + "/a/checkpoint-100", "--append", "--overwrite", "--out"),
                new Case("--append without --out", "they need --out", runs + "/a/checkpoint-100", runs + "/a/checkpoint-200", "--append"),
                new Case("--each with one checkpoint", "--each applies to a fleet", runs + "/a/checkpoint-100", "--each", "--out"));
        for (Case c : cases) {
            Path out = tmp.resolve("out-" + c.why().replaceAll("[^a-z]+", "-"));
            List<String> args = new ArrayList<>(List.of("inspect"));
            args.addAll(List.of(c.args()));
            if (args.get(args.size() - 1).equals("--out")) args.add(out.toString());
            args.addAll(List.of("--master", "local[2]"));
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.exit(), c.why() + ": " + r.err());
            List<String> errors = r.err().lines().filter(l -> l.contains("error:")).toList();
            assertEquals(1, errors.size(), c.why() + ": " + r.err());
            assertTrue(errors.get(0).contains(c.expect()), c.why() + ": " + errors.get(0));
            assertFalse(Files.exists(out), c.why() + ": nothing written");
        }
    }
}
