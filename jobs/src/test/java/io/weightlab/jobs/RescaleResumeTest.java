package io.weightlab.jobs;

import io.weightlab.common.io.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resume after a killed driver (issue #7): a rescale runs in its own JVM and is killed (SIGKILL) once a few shards
 * are complete; {@code --resume} takes its staging over, keeps the completed shards untouched (same modification
 * time), writes the rest, and commits the same bytes as an undisturbed run.
 */
class RescaleResumeTest {
    static final String[] JOB = {"--apply", "*=tvr:target_std=0.02", "--max-shard-size", "1MB", "--seed", "3"};

    @Test
    void aKilledRescaleResumesFromItsCompletedShards(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2").toString();
        Path clean = tmp.resolve("clean"), killed = tmp.resolve("killed");
        List<String> a = new ArrayList<>(List.of("rescale", fixture, "--out", clean.toString()));
        a.addAll(List.of(JOB));
        assertEquals(0, Cli.run(a.toArray(String[]::new)).exit());

        List<String> cmd = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(StandaloneClusterTest.jvmFlags());
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), "io.weightlab.jobs.WeightLab", "rescale", fixture,
                "--out", killed.toString(), "--resume", "--master", "local[1]", "--conf", "spark.ui.enabled=false"));
        cmd.addAll(List.of(JOB));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("killed.log").toFile());
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        List<Path> markers = List.of();
        while (p.isAlive() && System.nanoTime() < deadline && (markers = markers(killed)).size() < 5) Thread.sleep(5);
        assertTrue(p.isAlive(), "the run finished before it could be killed:\n" + Files.readString(tmp.resolve("killed.log")));
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        markers = markers(killed);
        assertTrue(markers.size() >= 5, "expected completed shards before the kill");
        assertFalse(Files.exists(killed.resolve(StagedOutput.SUCCESS)), "a killed run commits nothing");
        Path keptShard = shardOf(markers.get(0));
        FileTime before = Files.getLastModifiedTime(keptShard);

        List<String> r = new ArrayList<>(List.of("rescale", fixture, "--out", killed.toString(), "--resume"));
        r.addAll(List.of(JOB));
        Cli.Run resumed = Cli.run(r.toArray(String[]::new));
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.out().contains("resuming"), resumed.out());
        assertFalse(Files.exists(killed.resolve(StagedOutput.TEMPORARY)));
        Path committed = killed.resolve(keptShard.getFileName());
        assertEquals(before, Files.getLastModifiedTime(committed), "a shard the killed run completed was kept, not rewritten");
        try (Stream<Path> s = Files.list(clean)) {
            for (Path f : s.filter(x -> x.getFileName().toString().endsWith(".safetensors") || x.getFileName().toString().endsWith(".index.json")).toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(killed.resolve(f.getFileName())), f.getFileName() + " differs from the undisturbed run");
            }
        }
    }

    static List<Path> markers(Path out) throws java.io.IOException {
        Path tmp = out.resolve(StagedOutput.TEMPORARY);
        if (!Files.exists(tmp)) return List.of();
        try (Stream<Path> s = Files.walk(tmp)) {
            return s.filter(x -> x.getFileName().toString().endsWith(".safetensors.done")).toList();
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException racing) {
            return List.of();
        }
    }

    /** _temporary/<run>/_scratch/done/<file>.done -> _temporary/<run>/<file> */
    static Path shardOf(Path marker) {
        String name = marker.getFileName().toString();
        return marker.getParent().getParent().getParent().resolve(name.substring(0, name.length() - ".done".length()));
    }
}
