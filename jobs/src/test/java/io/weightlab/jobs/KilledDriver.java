package io.weightlab.jobs;

import io.weightlab.common.commit.StagedOutput;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A WeightLab job run as its own driver JVM (local[1]) and killed with SIGKILL once its staging holds at least
 * {@code n} completion markers ending in a given suffix: the state a crashed driver leaves behind for --resume.
 */
public final class KilledDriver {
    private KilledDriver() {}

    /** Runs {@code args} in a new JVM, kills it at {@code n} markers "*{@code suffix}.done" under {@code out}, returns them. */
    static List<Path> killAt(Path out, Path log, String suffix, int n, List<String> args) throws IOException, InterruptedException {
        Process p = start(args, log, null);
        awaitMarkers(p, out, log, suffix, n);
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        List<Path> markers = markers(out, suffix);
        assertTrue(markers.size() >= n, "expected " + n + " completed " + suffix + " file(s) before the kill");
        assertFalse(Files.exists(out.resolve(StagedOutput.SUCCESS)), "a killed run commits nothing");
        return markers;
    }

    /** Starts {@code args} as a driver JVM on local[1]; stderr goes to {@code err}, or with stdout to {@code log} when null. */
    static Process start(List<String> args, Path log, Path err) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(StandaloneClusterTest.jvmFlags());
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), "io.weightlab.jobs.WeightLab"));
        cmd.addAll(args);
        cmd.addAll(List.of("--master", "local[1]", "--conf", "spark.ui.enabled=false"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(log.toFile());
        if (err == null) pb.redirectErrorStream(true);
        else pb.redirectError(err.toFile());
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        return pb.start();
    }

    /** Waits (at most 180 s) until the staging under {@code out} holds {@code n} markers "*{@code suffix}.done", the run still alive. */
    static void awaitMarkers(Process p, Path out, Path log, String suffix, int n) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (p.isAlive() && System.nanoTime() < deadline && markers(out, suffix).size() < n) Thread.sleep(2);
        assertTrue(p.isAlive(), "the run finished (or died) before it could be killed:\n" + Files.readString(log));
    }

    static List<Path> markers(Path out, String suffix) throws IOException {
        Path tmp = out.resolve(StagedOutput.TEMPORARY);
        if (!Files.exists(tmp)) return List.of();
        try (Stream<Path> s = Files.walk(tmp)) {
            return s.filter(x -> x.getFileName().toString().endsWith(suffix + ".done")).toList();
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException racing) {
            return List.of();
        }
    }

    /** _temporary/<run>/_scratch/done/<relative>.done -> _temporary/<run>/<relative> */
    static Path fileOf(Path marker) {
        Path m = marker;
        while (!m.getFileName().toString().equals("done")) m = m.getParent();
        Path run = m.getParent().getParent();
        String rel = m.relativize(marker).toString();
        return run.resolve(rel.substring(0, rel.length() - ".done".length()));
    }

    /** Every file under {@code a} whose name ends in one of {@code suffixes} has the same bytes under {@code b}. */
    static int assertSameFiles(Path a, Path b, String... suffixes) throws IOException {
        int n = 0;
        try (Stream<Path> s = Files.walk(a)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                boolean wanted = false;
                for (String x : suffixes) wanted |= name.endsWith(x);
                if (!wanted) continue;
                Path other = b.resolve(a.relativize(f));
                assertTrue(Files.exists(other), other + " is missing");
                org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(other), a.relativize(f) + " differs from the undisturbed run");
                n++;
            }
        }
        return n;
    }
}
