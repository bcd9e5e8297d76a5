package io.weightlab.jobs;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM part way through a job (the driver JVM of a rescale that has written some shards): one line
 * "weightlab rescale: interrupted" on stderr and nothing else of ours or Spark's (no stack trace), exit code 143,
 * and nothing left in the output directory (no _SUCCESS, no _temporary, no shard).
 */
public class InterruptedJobTest {
    @Test
    void sigtermMidJobAbortsTheOutputAndSaysSoInOneLine(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2").toString();
        Path out = tmp.resolve("out"), log = tmp.resolve("stdout.log"), err = tmp.resolve("stderr.log");
        Process p = KilledDriver.start(List.of("rescale", fixture, "--out", out.toString(), "--apply", "*=tvr:target_std=0.02",
                "--max-shard-size", "1MB"), log, err);
        KilledDriver.awaitMarkers(p, out, err, ".safetensors", 2);
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the interrupted run did not end");

        String stderr = Files.readString(err);
        assertEquals(143, p.exitValue(), stderr);
        assertEquals(List.of("weightlab rescale: interrupted"), stderr.lines().filter(l -> !l.isBlank()).toList(),
                "stderr holds the one line and nothing else:\n" + stderr);
        assertFalse(Files.exists(out.resolve(StagedOutput.SUCCESS)));
        assertFalse(Files.exists(out.resolve(StagedOutput.TEMPORARY)), () -> "the staging is removed; left: " + listing(out));
        assertTrue(!Files.exists(out) || Files.list(out).findAny().isEmpty(), "nothing is left in the output directory");
    }

    static String listing(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p) + (Files.isDirectory(p) ? "/" : "")).toList().toString();
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
