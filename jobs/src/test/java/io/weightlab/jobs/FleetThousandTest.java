package io.weightlab.jobs;

import io.weightlab.common.testing.Python;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue #18's planning test: 1,000 tiny checkpoints in one `stats` fleet run whose driver is its own JVM with a
 * 512 MB heap (Spark's own minimum is 450 MB). The headers are read on the executors (the console says so), the
 * tensors are planned in waves of at most weightlab.fleet.wave-tensors (256 here: 8 waves), which bounds what the
 * driver holds whatever the number of checkpoints, and every checkpoint gets its own complete
 * file whose numbers are the closed form of its values (checkpoint i: ±s_i, std s_i = 1 + i/1024 exactly).
 */
public class FleetThousandTest {
    static final int N = 1000;

    @Test
    void aThousandTinyCheckpointsArePlannedWithHeadersOnExecutorsInASmallDriver(@TempDir Path tmp) throws Exception {
        Python.require("numpy", "safetensors");
        Path runs = tmp.resolve("zoo");
        Python.script(Python.testScript("fleet_tiny.py"), runs.toString(), Integer.toString(N));
        Path list = tmp.resolve("inputs.txt");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < N; i++) lines.add(runs.resolve(String.format("ckpt-%04d", i)).toUri().toString());
        Files.write(list, lines);
        Path out = tmp.resolve("fleet");
        Path log = tmp.resolve("driver.log");

        List<String> cmd = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(StandaloneClusterTest.jvmFlags());
        cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"), "io.weightlab.jobs.WeightLab",
                "stats", "--inputs", list.toString(), "--out", out.toString(), "--gg-fit", "moments",
                "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                // the driver holds one wave's tensor summaries (about 0.5 MB each: a 16-bit count table), so the wave
                // bounds its memory, not the number of checkpoints: 256 a wave fit the 512 MB heap, 1,024 do not
                "--conf", "spark.hadoop.weightlab.fleet.wave-tensors=256"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(log.toFile()).redirectErrorStream(true);
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), "the fleet run did not finish in 10 minutes");
        String console = Files.readString(log);
        assertEquals(0, p.exitValue(), console);
        assertTrue(console.contains("reading " + N + " checkpoint headers on the executors"), "headers on executors:\n" + console);

        // one complete file per checkpoint, committed
        long files;
        try (Stream<Path> s = Files.walk(out)) {
            files = s.filter(f -> f.getFileName().toString().endsWith(".parquet")).count();
        }
        assertEquals(N, files, "one Parquet file per checkpoint");

        List<Row> rows = TestSpark.get().read().parquet(out.toString())
                .filter("level = 'tensor'")
                .select("checkpoint_uri", "name", "std", "mean", "elements").collectAsList();
        assertEquals(2 * N, rows.size(), "two tensor rows per checkpoint");
        Map<String, Double> upStd = new HashMap<>();
        for (Row r : rows) {
            if (r.getString(1).equals("model.norm.weight")) {
                assertEquals(0.0, r.getDouble(2), 0.0, "a norm of ones has std 0");
                assertEquals(1.0, r.getDouble(3), 0.0);
            } else {
                assertEquals(128L, ((Number) r.get(4)).longValue());
                assertEquals(0.0, r.getDouble(3), 1e-15, "±s alternately: mean 0");
                upStd.put(r.getString(0), r.getDouble(2));
            }
        }
        assertEquals(N, upStd.size());
        for (int i = 0; i < N; i++) {
            String uri = lines.get(i);
            Double std = upStd.get(uri);
            if (std == null) std = upStd.get(uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri + "/");
            assertTrue(std != null, "rows of " + uri + " among " + upStd.keySet().stream().limit(3).toList());
            assertEquals(1.0 + i / 1024.0, std, 1e-14 * (1 + i / 1024.0), "population std of ±s_i is s_i (" + uri + ")");
        }
    }
}
