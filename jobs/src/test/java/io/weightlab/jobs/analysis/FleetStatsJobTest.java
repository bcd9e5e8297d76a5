package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fleet stats on local Spark: a synthetic training series (20, then 3 more checkpoints, with a known drift per layer)
 * plus the sharded MiniLM fixture (4 shards, int8 weights with their scales, analysed as stored) in one job. Each checkpoint's rows equal a single-checkpoint run's exactly; the dataset
 * reads as one table in pyarrow (checked against numpy, std/mean to 1e-9 relative, and the planted drift to 1e-6)
 * and in Spark SQL; --append after adding 3 analyses exactly those 3 and leaves the same dataset as a full run.
 */
public class FleetStatsJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double[] DRIFT = {0.0, 0.1, 0.2, 0.4}; // fleet_series.py

    /** The README's Spark SQL query, as printed there. */
    static final String README_QUERY_3 = """
            WITH first AS (SELECT model, min(step) AS step FROM fleet GROUP BY model),
                 base AS (SELECT f.* FROM fleet f JOIN first USING (model, step))
            SELECT f.model, f.step, f.name AS layer, f.std / b.std - 1 AS std_drift
            FROM fleet f JOIN base b ON b.model = f.model AND b.level = f.level AND b.name = f.name
            WHERE f.level = 'layer'
            ORDER BY abs(f.std / b.std - 1) DESC LIMIT 20
            """;

    static FleetStatsJob.Options options(List<String> inputs, String out, FleetDataset.Mode mode, FleetStatsJob.BadCheckpoints bad) {
        return new FleetStatsJob.Options(inputs, null, out, mode, false, bad, 256 << 10, false, new int[] {128, 128}, StatsJob.GgMode.MLE);
    }

    static void series(Path root, int from, int to) {
        List<String> args = new ArrayList<>(List.of(root.toString()));
        for (int k = from; k <= to; k++) args.add(Integer.toString(100 * k));
        Python.script(Python.testScript("fleet_series.py"), args.toArray(String[]::new));
    }

    @Test
    void fleetEqualsSingleRunsAndAppendAnalysesOnlyTheNewCheckpoints(@TempDir Path tmp) throws Exception {
        Python.require("numpy", "safetensors", "pyarrow");
        Path runs = tmp.resolve("runs/series");
        series(runs, 1, 20);
        List<String> inputs = new ArrayList<>(List.of(runs.toUri() + "checkpoint-*"));
        List<String> fixtures = new ArrayList<>();
        if (Files.isDirectory(Fixtures.sharedDir())) {
            for (String f : List.of("all-minilm-l6-v2-q-sharded")) fixtures.add(Fixtures.dir(f).toUri().toString());
        }
        inputs.addAll(fixtures);
        // the same checkpoint named twice (directory and its file) is analysed once
        inputs.add(runs.resolve("checkpoint-100/model.safetensors").toUri().toString());
        String out = tmp.resolve("fleet").toUri().toString();

        FleetStatsJob.Result first = FleetStatsJob.run(TestSpark.get(), options(inputs, out, FleetDataset.Mode.CREATE, FleetStatsJob.BadCheckpoints.FAIL), System.out);
        int expected = 20 + fixtures.size();
        assertEquals(expected, ((List<?>) first.run().get("analysed")).size());
        assertEquals(1, ((List<?>) first.run().get("duplicates")).size(), "checkpoint-100 named twice");

        // every checkpoint's rows equal a single-checkpoint run's, value for value (NaN equal to NaN)
        for (Map.Entry<String, List<StatsRow>> e : first.rowsByUri().entrySet()) {
            StatsJob.Result single = StatsJob.run(TestSpark.context(), new StatsJob.Options(e.getKey(), null, false, 256 << 10, false,
                    new int[] {128, 128}, StatsJob.GgMode.MLE, null), System.out);
            List<Map<String, Object>> want = Stream.concat(single.tensors().stream(), single.rollups().stream()).map(StatsRow::toMap).toList();
            List<Map<String, Object>> got = e.getValue().stream().map(StatsRow::toMap).toList();
            assertEquals(want, got, e.getKey());
        }

        // three more checkpoints appear; --append analyses exactly those
        series(runs, 21, 23);
        FleetStatsJob.Result appended = FleetStatsJob.run(TestSpark.get(), options(inputs, out, FleetDataset.Mode.APPEND, FleetStatsJob.BadCheckpoints.FAIL), System.out);
        List<String> added = ((List<?>) appended.run().get("analysed")).stream().map(a -> (String) ((Map<?, ?>) a).get("uri")).sorted().toList();
        assertEquals(List.of(runs.toUri() + "checkpoint-2100", runs.toUri() + "checkpoint-2200", runs.toUri() + "checkpoint-2300"),
                added.stream().map(u -> u.replace("file:/", "file:///").replace("file:////", "file:///")).toList());
        assertEquals(expected, appended.run().get("unchanged"));

        // the appended dataset equals a full run of all 23 + fixtures
        String full = tmp.resolve("full").toUri().toString();
        FleetStatsJob.run(TestSpark.get(), options(inputs, full, FleetDataset.Mode.CREATE, FleetStatsJob.BadCheckpoints.FAIL), System.out);
        Dataset<Row> a = TestSpark.get().read().parquet(out).drop("run_id");
        Dataset<Row> b = TestSpark.get().read().parquet(full).drop("run_id");
        long rows = b.count();
        assertTrue(rows > 23 * 17, "rows: " + rows);
        assertEquals(rows, a.count());
        assertEquals(0, a.exceptAll(b).count(), "rows of the appended dataset missing from the full run");
        assertEquals(0, b.exceptAll(a).count(), "rows of the full run missing from the appended dataset");
        // Spark SQL: one table, partition columns model and step
        TestSpark.get().read().parquet(full).createOrReplaceTempView("fleet");
        List<Row> steps = TestSpark.get().sql("SELECT model, count(DISTINCT step) FROM fleet WHERE level = 'tensor' GROUP BY model ORDER BY model").collectAsList();
        assertTrue(steps.stream().anyMatch(r -> r.getString(0).equals("series") && r.getLong(1) == 23), steps.toString());
        if (!fixtures.isEmpty()) {
            assertTrue(steps.stream().anyMatch(r -> r.getString(0).equals("all-minilm-l6-v2-q-sharded") && r.getLong(1) == 0), steps.toString());
        }

        // pyarrow reads the same table; numbers against numpy and the planted drift
        JsonNode chk = JSON.readTree(Python.script(Python.testScript("fleet_check.py"), tmp.resolve("fleet").toString()));
        assertEquals(rows, chk.get("rows").asLong());
        assertEquals(expected + 3, chk.get("checkpoints").size());
        assertEquals(23 * 13, chk.get("compared").asInt(), "13 tensors per series checkpoint");
        assertTrue(chk.get("max_rel_err_std").asDouble() < 1e-9, chk.toString());
        assertTrue(chk.get("max_rel_err_mean").asDouble() < 1e-9, chk.toString());
        for (int l = 0; l < DRIFT.length; l++) {
            JsonNode byStep = chk.get("q_std").get(Integer.toString(l));
            double s100 = byStep.get("100").asDouble();
            for (int k = 1; k <= 23; k++) {
                double want = (1 + DRIFT[l] * k * 0.1) / (1 + DRIFT[l] * 0.1);
                assertEquals(want, byStep.get(Integer.toString(100 * k)).asDouble() / s100, 1e-6, "layer " + l + " step " + 100 * k);
            }
        }
        // README query 1: the one planted NaN, found by pyarrow
        JsonNode nan = chk.get("query_nan");
        assertEquals(1, nan.size(), nan.toString());
        assertEquals("series", nan.get(0).get("model").asText());
        assertEquals(1700, nan.get(0).get("step").asLong());
        assertEquals("model.layers.1.mlp.down_proj.weight", nan.get(0).get("name").asText());
        assertEquals(1, nan.get(0).get("nan_count").asLong());
        // README query 2: each layer's std over training (4 layers x 23 steps), the whole layer scaled by its drift
        // (float16 down_proj rounds w*f on its own: ratios to 1e-3)
        Map<String, List<Double>> byLayer = new java.util.TreeMap<>();
        for (JsonNode r : chk.get("query_layer_std")) byLayer.computeIfAbsent(r.get("name").asText(), k -> new ArrayList<>()).add(r.get("std").asDouble());
        for (int l = 0; l < DRIFT.length; l++) {
            List<Double> std = byLayer.get("model.layers." + l);
            assertEquals(23, std.size(), byLayer.keySet().toString());
            double f1 = 1 + DRIFT[l] * 0.1, f23 = 1 + DRIFT[l] * 2.3;
            assertEquals(f23 / f1, std.get(22) / std.get(0), 1e-3, "layer " + l);
        }
        // README query 3 (Spark SQL): the layers that drifted most from their run's first checkpoint
        List<Row> drift = TestSpark.get().sql(README_QUERY_3).collectAsList(); // on the view "fleet" made above
        assertEquals(20, drift.size());
        assertEquals("series", drift.get(0).getString(0));
        assertEquals(2300, ((Number) drift.get(0).get(1)).longValue());
        assertEquals("model.layers.3", drift.get(0).getString(2));
        assertEquals((1 + 0.4 * 2.3) / (1 + 0.04) - 1, drift.get(0).getDouble(3), 1e-3);
        assertFalse(Files.exists(tmp.resolve("fleet/_temporary")));
        assertTrue(Files.exists(tmp.resolve("fleet/_SUCCESS")));
    }

    @Test
    void aBadCheckpointFailsTheRunOrIsSkippedAndListed(@TempDir Path tmp) throws Exception {
        Python.require("numpy", "safetensors");
        Path runs = tmp.resolve("runs/s");
        series(runs, 1, 2);
        Path bad = runs.resolve("checkpoint-300");
        Files.createDirectories(bad);
        Files.write(bad.resolve("model.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, '{', '}'});
        List<String> inputs = List.of(runs.toUri() + "checkpoint-*");
        String out = tmp.resolve("fail").toUri().toString();
        assertThrows(CheckpointFormatException.class, () -> FleetStatsJob.run(TestSpark.get(),
                options(inputs, out, FleetDataset.Mode.CREATE, FleetStatsJob.BadCheckpoints.FAIL), System.out));
        assertFalse(Files.exists(tmp.resolve("fail")), "a failed fleet run writes nothing");

        String out2 = tmp.resolve("skip").toUri().toString();
        FleetStatsJob.Result r = FleetStatsJob.run(TestSpark.get(), options(inputs, out2, FleetDataset.Mode.CREATE, FleetStatsJob.BadCheckpoints.SKIP), System.out);
        assertEquals(2, ((List<?>) r.run().get("analysed")).size());
        List<?> badList = (List<?>) r.run().get("bad_checkpoints");
        assertEquals(1, badList.size());
        assertTrue(((Map<?, ?>) badList.get(0)).get("error").toString().contains("checkpoint-300"), badList.toString());
        assertEquals("CheckpointFormatException", ((Map<?, ?>) badList.get(0)).get("type"));
        try (Stream<Path> files = Files.walk(tmp.resolve("skip"))) {
            List<String> parts = files.map(p -> tmp.resolve("skip").relativize(p).toString()).filter(p -> p.endsWith(".parquet")).sorted().collect(Collectors.toList());
            assertEquals(2, parts.size(), parts.toString());
            assertTrue(parts.get(0).startsWith("model=s/step=100/part-"), parts.toString());
            assertTrue(parts.get(1).startsWith("model=s/step=200/part-"), parts.toString());
        }
        JsonNode record;
        try (Stream<Path> l = Files.list(tmp.resolve("skip/_fleet/runs"))) {
            record = JSON.readTree(l.findFirst().orElseThrow().toFile());
        }
        assertEquals(1, record.get("bad_checkpoints").size());
    }

    @Test
    void cliRefusesAGlobMatchingNothingAndAnExistingDatasetWithoutAppend(@TempDir Path tmp) throws Exception {
        Python.require("numpy", "safetensors");
        Path runs = tmp.resolve("runs/s");
        series(runs, 1, 2);
        String out = tmp.resolve("ds").toString();
        Cli.Run none = Cli.run("stats", runs + "/nothing-*", runs + "/checkpoint-100", "--out", out, "--master", "local[2]");
        assertEquals(2, none.exit(), none.err());
        assertTrue(none.err().contains("nothing-*") && none.err().contains("no checkpoint matches"), none.err());

        Cli.Run ok = Cli.run("stats", "--fleet", runs + "/checkpoint-*", "--out", out, "--master", "local[2]", "--gg-fit", "moments");
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().contains("2 checkpoint(s) analysed"), ok.out());
        Cli.Run again = Cli.run("stats", "--fleet", runs + "/checkpoint-*", "--out", out, "--master", "local[2]");
        assertEquals(2, again.exit(), again.err());
        assertTrue(again.err().contains("--append"), again.err());
        Cli.Run append = Cli.run("stats", "--append", runs + "/checkpoint-*", "--out", out, "--master", "local[2]", "--gg-fit", "moments");
        assertEquals(0, append.exit(), append.err());
        assertTrue(append.out().contains("0 checkpoint(s) analysed, 2 unchanged"), append.out());
    }
}
