package io.weightlab.jobs;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Spark standalone master and two one-core workers on 127.0.0.1 in their own JVMs, started from the test
 * classpath (a SPARK_HOME whose jars/ links the classpath's jars), plus drivers submitted through SparkSubmit.
 * Closing it kills every process it started and their children (the executors) by handle.
 */
public final class LocalStandaloneCluster implements AutoCloseable {
    final Path dir, sparkHome, app;
    final String master;
    final List<Process> workers = new ArrayList<>();
    private final List<Process> started = new ArrayList<>();

    LocalStandaloneCluster(Path dir) throws IOException {
        this.dir = dir;
        sparkHome = sparkHome(dir);
        app = StandaloneClusterTest.appJar(dir);
        int port = StandaloneClusterTest.freePort();
        master = "spark://127.0.0.1:" + port;
        started.add(StandaloneClusterTest.start(sparkHome, dir.resolve("master.log"), "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", String.valueOf(StandaloneClusterTest.freePort())));
        for (int w = 0; w < 2; w++) {
            Process p = StandaloneClusterTest.start(sparkHome, dir.resolve("worker" + w + ".log"), "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", String.valueOf(StandaloneClusterTest.freePort()),
                    "--work-dir", dir.resolve("work" + w).toString(), master);
            started.add(p);
            workers.add(p);
        }
    }

    /**
     * {@code dir/spark-home}: a SPARK_HOME made of the test classpath, as a Spark distribution is laid out: {@code jars/}
     * links every jar of the classpath, and {@code bin/spark-submit} is Spark's own launch sequence (as bin/spark-class
     * does it: {@code org.apache.spark.launcher.Main} builds the java command, with the classpath, the module flags and
     * HADOOP_CONF_DIR/YARN_CONF_DIR, and the script runs it), for tests that go through submit-scripts/submit.
     */
    static Path sparkHome(Path dir) throws IOException {
        Path jars = Files.createDirectories(dir.resolve("spark-home/jars"));
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Paths.get(entry);
            if (entry.endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p);
            }
        }
        Path home = jars.getParent();
        Path submit = Files.createDirectories(home.resolve("bin")).resolve("spark-submit");
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Files.writeString(submit, """
                #!/usr/bin/env bash
                # bin/spark-submit -> bin/spark-class of a Spark distribution, in one file: the launcher prints its
                # messages, a NUL line, then the command NUL-separated; its exit code comes last
                set -uo pipefail
                build_command() {
                  "%s" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main org.apache.spark.deploy.SparkSubmit "$@"
                  printf '%%d\\0' $?
                }
                CMD=() DELIM=$'\\n' STARTED=false
                while IFS= read -d "$DELIM" -r ARG; do
                  if [[ $STARTED == true ]]; then CMD+=("$ARG")
                  elif [[ -z $ARG ]]; then DELIM='' STARTED=true
                  else echo "$ARG"; fi
                done < <(build_command "$@")
                LAUNCHER_EXIT=${CMD[${#CMD[@]}-1]}
                unset 'CMD[${#CMD[@]}-1]'
                [[ $LAUNCHER_EXIT == 0 ]] || exit "$LAUNCHER_EXIT"
                exec "${CMD[@]}"
                """.formatted(java));
        submit.toFile().setExecutable(true);
        return home;
    }

    /** Submits {@code weightlab <args>} in a driver JVM of its own (client mode); its log goes to {@code log}. */
    Process submit(Path log, List<String> conf, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit", "--master", master, "--deploy-mode", "client",
                "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", StandaloneClusterTest.jvmFlags())));
        for (String c : conf) {
            cmd.add("--conf");
            cmd.add(c);
        }
        cmd.addAll(List.of("--class", "io.weightlab.jobs.WeightLab", app.toString()));
        cmd.addAll(List.of(args));
        Process p = StandaloneClusterTest.start(sparkHome, log, cmd.toArray(String[]::new));
        started.add(p);
        return p;
    }

    /** The executor JVMs the workers have launched so far. */
    List<ProcessHandle> executors() {
        List<ProcessHandle> out = new ArrayList<>();
        for (Process w : workers) {
            w.descendants().filter(h -> h.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).forEach(out::add);
        }
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : started) p.waitFor(30, TimeUnit.SECONDS);
    }
}
