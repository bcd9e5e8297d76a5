package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults on a real standalone cluster (issue #7): an executor JVM (or a whole worker JVM with its executor) is
 * killed (SIGKILL, by process handle) while a stats or a rescale job is part way through a stage, seen through the
 * driver's own REST status API. Spark
 * retries the lost tasks on a new executor; the outputs must equal an undisturbed local run exactly, with no
 * duplicate or partial shard and no staging left behind.
 */
public class ExecutorKillTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * Kills one executor (or, with {@code wholeWorker}, the first worker JVM with its executor) once some stage of at
     * least 6 tasks (the slice pass on two one-core workers: 3 tasks a core) has 1..n−3 of them complete, so that
     * tasks are running on both executors; returns what it saw.
     */
    static String killMidStage(LocalStandaloneCluster cluster, Process driver, int uiPort, boolean wholeWorker) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (System.nanoTime() < deadline && driver.isAlive()) {
            try {
                JsonNode apps = get(uiPort, "/api/v1/applications");
                if (apps.isArray() && !apps.isEmpty()) {
                    String id = apps.get(0).get("id").asText();
                    for (JsonNode st : get(uiPort, "/api/v1/applications/" + id + "/stages?status=active")) {
                        int n = st.get("numTasks").asInt(), done = st.get("numCompleteTasks").asInt();
                        List<ProcessHandle> ex = cluster.executors();
                        if (n >= 6 && done >= 1 && done <= n - 3 && !ex.isEmpty()) {
                            String where = "stage " + st.get("stageId").asInt() + " at " + done + "/" + n + " tasks, ";
                            if (wholeWorker) {
                                Process w = cluster.workers.get(0);
                                w.descendants().forEach(ProcessHandle::destroyForcibly);
                                w.destroyForcibly();
                                return where + "killed worker pid " + w.pid() + " and its executors";
                            }
                            ex.get(0).destroyForcibly();
                            return where + "killed executor pid " + ex.get(0).pid();
                        }
                    }
                }
            } catch (IOException notYet) {
                // the driver's UI is not up yet
            }
            Thread.sleep(5);
        }
        throw new AssertionError("never saw a stage part way through to kill an executor in (driver alive: " + driver.isAlive() + ")");
    }

    static JsonNode get(int port, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(2)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IOException("HTTP " + r.statusCode());
        return JSON.readTree(r.body());
    }

    static void finish(Process driver, Path log, String killed) throws Exception {
        assertTrue(driver.waitFor(300, TimeUnit.SECONDS), "the job did not finish after " + killed);
        String text = Files.readString(log);
        System.out.println("[executor-kill] " + killed + "; the job finished with exit " + driver.exitValue());
        assertEquals(0, driver.exitValue(), killed + "\n" + StandaloneClusterTest.tail(text));
        assertTrue(text.contains("Lost executor") || text.contains("ExecutorLostFailure"), "Spark did not see the executor die (" + killed + ")");
    }

    @Test
    void statsAndRescaleSurviveAKilledExecutorWithIdenticalOutput(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2").toString();
        try (LocalStandaloneCluster cluster = new LocalStandaloneCluster(tmp)) {
            statsAfterAKillEqualLocal(cluster, tmp, fixture, false);

            int ui2 = StandaloneClusterTest.freePort();
            Path rescaled = tmp.resolve("rescale-killed");
            String[] job = {"rescale", fixture, "--out", rescaled.toString(), "--apply", "*=tvr:target_std=0.02", "--max-shard-size", "1MB"};
            Process rescale = cluster.submit(tmp.resolve("rescale.log"), List.of("spark.ui.port=" + ui2), job);
            String k2 = killMidStage(cluster, rescale, ui2, false);
            finish(rescale, tmp.resolve("rescale.log"), k2);
            Path local = tmp.resolve("rescale-local");
            String[] localJob = job.clone();
            localJob[3] = local.toString();
            assertEquals(0, Cli.run(localJob).exit());
            assertEquals(files(local), files(rescaled), "the same files, no duplicate or partial shard (" + k2 + ")");
            assertFalse(Files.exists(rescaled.resolve(StagedOutput.TEMPORARY)), "staging is gone");
            for (String f : files(local)) {
                if (f.endsWith(".safetensors")) {
                    assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(rescaled.resolve(f)), f + " differs after " + k2);
                }
            }
        }
    }

    /** stats with an executor (or a whole worker) killed mid-stage equals the undisturbed local run, row for row. */
    static void statsAfterAKillEqualLocal(LocalStandaloneCluster cluster, Path tmp, String fixture, boolean wholeWorker) throws Exception {
        int ui = StandaloneClusterTest.freePort();
        Path out = tmp.resolve("stats-killed"), local = tmp.resolve("stats-local");
        Process stats = cluster.submit(tmp.resolve("stats.log"), List.of("spark.ui.port=" + ui), "stats", fixture, "--out", out.toString(),
                "--slice-mb", "1");
        String k = killMidStage(cluster, stats, ui, wholeWorker);
        finish(stats, tmp.resolve("stats.log"), k);
        assertEquals(0, Cli.run("stats", fixture, "--out", local.toString(), "--slice-mb", "1").exit());
        assertEquals(JSON.readTree(local.resolve("stats.json").toFile()).get("rows"), JSON.readTree(out.resolve("stats.json").toFile()).get("rows"),
                "stats after " + k + " differ from the undisturbed local run");
    }

    static TreeSet<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("weightlab_provenance.json")).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    @Test
    void statsSurvivesAKilledWorkerJvm(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2").toString();
        try (LocalStandaloneCluster cluster = new LocalStandaloneCluster(tmp)) {
            statsAfterAKillEqualLocal(cluster, tmp, fixture, true);
        }
    }
}
