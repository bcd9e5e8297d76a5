package io.weightlab.jobs;

import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.analysis.FleetStatsJob;
import io.weightlab.jobs.analysis.StatsJob;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fleet run whose driver JVM is SIGKILLed after it committed some checkpoints (one wave per checkpoint): what it
 * left is a consistent dataset (only complete checkpoint files, readable as one table), and --append completes it
 * into the same dataset as an undisturbed run, analysing only the checkpoints the killed run had not committed.
 */
public class FleetKillTest {
    @Test
    void aKilledFleetRunLeavesWholeCheckpointsAndAppendCompletesIt(@TempDir Path tmp) throws Exception {
        Python.require("numpy", "safetensors");
        Path runs = tmp.resolve("runs/s");
        List<String> steps = new java.util.ArrayList<>(List.of(runs.toString()));
        for (int k = 1; k <= 8; k++) steps.add(Integer.toString(100 * k));
        Python.script(Python.testScript("fleet_series.py"), steps.toArray(String[]::new));
        String glob = runs.toUri() + "checkpoint-*";
        Path killed = tmp.resolve("killed");

        Process p = KilledDriver.start(List.of("stats", "--fleet", glob, "--out", killed.toString(), "--gg-fit", "moments",
                "--conf", "spark.hadoop." + FleetStatsJob.WAVE_BYTES + "=1"), tmp.resolve("killed.log"), null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (p.isAlive() && System.nanoTime() < deadline && committed(killed) < 3) Thread.sleep(2);
        assertTrue(p.isAlive(), "the run ended before it could be killed:\n" + Files.readString(tmp.resolve("killed.log")));
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        int done = committed(killed);
        assertTrue(done >= 3 && done < 8, done + " checkpoints committed before the kill");

        // consistent as it is: every committed file is a whole checkpoint's rows (13 tensors + roll-ups)
        Dataset<Row> partial = TestSpark.get().read().parquet(killed.toString());
        List<Row> perCkpt = partial.groupBy("checkpoint_key").count().collectAsList();
        assertEquals(done, perCkpt.size());
        long rowsPerCkpt = perCkpt.get(0).getLong(1);
        for (Row r : perCkpt) assertEquals(rowsPerCkpt, r.getLong(1), "every checkpoint has all its rows");

        FleetStatsJob.Result resumed = FleetStatsJob.run(TestSpark.get(), options(glob, killed, FleetDataset.Mode.APPEND), System.out);
        assertEquals(8 - done, ((List<?>) resumed.run().get("analysed")).size(), "only the checkpoints the killed run had not committed");
        Path clean = tmp.resolve("clean");
        FleetStatsJob.run(TestSpark.get(), options(glob, clean, FleetDataset.Mode.CREATE), System.out);
        Dataset<Row> a = TestSpark.get().read().parquet(killed.toString()).drop("run_id");
        Dataset<Row> b = TestSpark.get().read().parquet(clean.toString()).drop("run_id");
        assertEquals(8 * rowsPerCkpt, b.count());
        assertEquals(b.count(), a.count());
        assertEquals(0, a.exceptAll(b).count());
        assertEquals(0, b.exceptAll(a).count());
        assertTrue(!Files.exists(killed.resolve("_temporary")), "the dead run's staging is gone");
    }

    static FleetStatsJob.Options options(String glob, Path out, FleetDataset.Mode mode) {
        return new FleetStatsJob.Options(List.of(glob), null, out.toString(), mode, false, FleetStatsJob.BadCheckpoints.FAIL,
                64L << 20, false, new int[] {128, 128}, StatsJob.GgMode.MOMENTS);
    }

    /** Checkpoint files committed into partitions (staging excluded). */
    static int committed(Path ds) throws java.io.IOException {
        if (!Files.exists(ds)) return 0;
        try (Stream<Path> s = Files.walk(ds)) {
            return (int) s.filter(f -> f.getFileName().toString().endsWith(".zstd.parquet") && !ds.relativize(f).toString().startsWith("_")).count();
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException racing) {
            return 0;
        }
    }
}
