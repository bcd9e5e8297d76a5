package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and two workers in their own JVMs, started from this
 * project's classpath (a SPARK_HOME whose jars/ links the classpath's jars; no Spark download), executors in
 * separate JVMs, and the stats job submitted to it through SparkSubmit in a driver JVM of its own. Its result
 * must equal the local[*] run's, number for number. Everything started is stopped by its process handle.
 */
public class StandaloneClusterTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public static List<String> jvmFlags() {
        List<String> f = new ArrayList<>(List.of(System.getProperty("weightlab.spark.flags", "").trim().split("\\s+")));
        f.removeIf(String::isEmpty);
        return f;
    }

    /** A jar of this project's compiled classes, for the executors (the test classpath has them as directories). */
    static Path appJar(Path dir) throws IOException {
        Path jar = dir.resolve("weightlab-app.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
                Path p = Paths.get(entry);
                if (!Files.isDirectory(p) || p.toString().contains("test-classes")) continue;
                try (Stream<Path> files = Files.walk(p)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        out.putNextEntry(new JarEntry(p.relativize(f).toString().replace(File.separatorChar, '/')));
                        Files.copy(f, out);
                        out.closeEntry();
                    }
                } catch (java.util.zip.ZipException duplicate) {
                    // the same class from two directories: the first one wins
                }
            }
        }
        return jar;
    }

    static Process start(Path home, Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags());
        cmd.add("-Xmx1g");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("OPENBLAS_NUM_THREADS", "1");
        return pb.start();
    }

    @Test
    void statsOnAStandaloneClusterEqualsTheLocalRun(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2-q-sharded").toString();
        try (LocalStandaloneCluster cluster = new LocalStandaloneCluster(tmp)) {
            Path clusterOut = tmp.resolve("cluster-out");
            Process driver = cluster.submit(tmp.resolve("driver.log"), List.of(), "stats", fixture, "--out", clusterOut.toString(), "--slice-mb", "1");
            boolean finished = driver.waitFor(300, TimeUnit.SECONDS);
            String driverLog = Files.readString(tmp.resolve("driver.log"));
            assertTrue(finished, "the cluster job did not finish in 5 minutes:\n" + tail(driverLog));
            assertEquals(0, driver.exitValue(), "driver failed:\n" + tail(driverLog));
            assertEquals(cluster.master, JSON.readTree(clusterOut.resolve("stats.json").toFile()).get("run").get("spark_master").asText(),
                    "the job did not run on the standalone master");
            // executors ran in the workers' own JVMs
            long executors;
            try (Stream<Path> s = Files.walk(tmp.resolve("work0"))) {
                executors = s.filter(p -> p.getFileName().toString().equals("stderr")).count();
            }
            try (Stream<Path> s = Files.walk(tmp.resolve("work1"))) {
                executors += s.filter(p -> p.getFileName().toString().equals("stderr")).count();
            }
            assertTrue(executors >= 2, "expected executor JVMs on both workers, found " + executors);

            Path localOut = tmp.resolve("local-out");
            Cli.Run local = Cli.run("stats", fixture, "--out", localOut.toString(), "--slice-mb", "1");
            assertEquals(0, local.exit(), local.err());
            JsonNode a = JSON.readTree(localOut.resolve("stats.json").toFile()).get("rows");
            JsonNode b = JSON.readTree(clusterOut.resolve("stats.json").toFile()).get("rows");
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                var names = a.get(i).fieldNames();
                while (names.hasNext()) {
                    String f = names.next();
                    assertEquals(a.get(i).get(f), b.get(i).get(f), "row " + a.get(i).get("name") + " field " + f + ": cluster differs from local");
                }
            }
        }
    }

    static String tail(String s) {
        return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    }
}
