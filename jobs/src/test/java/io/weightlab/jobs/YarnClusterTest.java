package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fleet stats job on YARN, for real: an in-process HDFS (MiniDFSCluster, one datanode) and YARN (MiniYARNCluster,
 * a ResourceManager and one NodeManager), the job submitted with {@code submit-scripts/submit --master yarn
 * --deploy-mode cluster -- stats hdfs:///... --out hdfs:///...} exactly as the script's header shows, the driver in the
 * ApplicationMaster's container and the executors in containers of their own (separate JVMs launched by the
 * NodeManager), reading and writing hdfs:// through the cluster's HADOOP_CONF_DIR. Its dataset must equal the local
 * run's, row for row and value for value.
 *
 * <p>The SPARK_HOME is the test classpath laid out as a distribution ({@link LocalStandaloneCluster#sparkHome}); its
 * jars reach the containers as {@code spark.yarn.jars=local:...} (jars already present on every node, as on a cluster
 * with Spark installed), so nothing but the application jar, the log config and Spark's conf archive is uploaded.
 */
public class YarnClusterTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String FIXTURE = "all-minilm-l6-v2";
    static final int[] STEPS = {100, 200, 300};
    /**
     * Columns that name the run or where it read from, so legitimately differ between the two runs: checkpoint_uri is
     * hdfs:// against file:, checkpoint_key hashes those shard URIs, checkpoint_identity hashes the files' modification
     * times (HDFS copies are newer), run_id is per run. Every other column (the statistics, names, levels, dtypes,
     * tags and the model/step partitions) must be equal.
     */
    static final String[] RUN_COLUMNS = {"checkpoint_uri", "checkpoint_key", "checkpoint_identity", "run_id"};

    @Test
    void fleetStatsInYarnClusterModeOnHdfsEqualsTheLocalRun(@TempDir Path tmp) throws Exception {
        Path fixture = Fixtures.dir(FIXTURE);
        Python.require("numpy", "safetensors");
        Path series = tmp.resolve("models/series");
        List<String> steps = new ArrayList<>(List.of(series.toString()));
        for (int s : STEPS) steps.add(Integer.toString(s));
        Python.script(Python.testScript("fleet_series.py"), steps.toArray(String[]::new));

        MiniDFSCluster hdfs = null;
        MiniYARNCluster yarn = null;
        Process submit = null;
        try {
            Configuration dfsConf = new Configuration();
            dfsConf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("dfs").toString());
            hdfs = new MiniDFSCluster.Builder(dfsConf).numDataNodes(1).build();
            hdfs.waitActive();
            String defaultFs = hdfs.getFileSystem().getUri().toString();

            yarn = new MiniYARNCluster(YarnClusterTest.class.getSimpleName(), 1, 1, 1);
            yarn.init(yarnConf(defaultFs));
            yarn.start();
            Configuration cluster = yarn.getConfig();
            // MiniYARNCluster may return from start() before the RM's bound port is in its configuration
            while (cluster.get(YarnConfiguration.RM_ADDRESS).endsWith(":0")) Thread.sleep(50);

            // the cluster's client configuration, as an admin would hand it out
            Path confDir = Files.createDirectories(tmp.resolve("hadoop-conf"));
            try (OutputStream out = Files.newOutputStream(confDir.resolve("yarn-site.xml"))) {
                cluster.writeXml(out);
            }
            Files.writeString(confDir.resolve("core-site.xml"), """
                    <?xml version="1.0"?>
                    <configuration>
                      <property><name>fs.defaultFS</name><value>%s</value></property>
                    </configuration>
                    """.formatted(defaultFs));

            FileSystem fs = hdfs.getFileSystem();
            fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(series.toUri()), new org.apache.hadoop.fs.Path("/models/series"));
            fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(fixture.toUri()), new org.apache.hadoop.fs.Path("/models/" + FIXTURE));

            Path sparkHome = LocalStandaloneCluster.sparkHome(tmp);
            Path app = StandaloneClusterTest.appJar(tmp);
            Path log = tmp.resolve("submit.log");
            List<String> cmd = new ArrayList<>(List.of("bash", SubmitScriptTest.script().toString(),
                    "--master", "yarn", "--deploy-mode", "cluster", "--jar", app.toString(),
                    // a small cluster: conf/spark-defaults.conf's 2g driver and 4g executors do not fit one 4 GB NodeManager
                    "--extra", String.join(" ",
                            "--conf", "spark.yarn.jars=local:" + sparkHome.resolve("jars") + "/*",
                            "--conf", "spark.driver.memory=512m", "--conf", "spark.driver.cores=1",
                            "--conf", "spark.executor.memory=512m", "--conf", "spark.executor.cores=1",
                            "--conf", "spark.executor.instances=2",
                            // a failed attempt is the failure to report, not to retry (a retry finds the committed dataset)
                            "--conf", "spark.yarn.maxAppAttempts=1"),
                    "--", "stats", "hdfs:///models/series/checkpoint-*", "hdfs:///models/" + FIXTURE,
                    "--out", "hdfs:///reports/fleet", "--slice-mb", "4"));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            Map<String, String> env = pb.environment();
            env.put("SPARK_HOME", sparkHome.toString());
            env.put("SPARK_SCALA_VERSION", "2.13");
            env.put("HADOOP_CONF_DIR", confDir.toString());
            env.put("YARN_CONF_DIR", confDir.toString());
            env.put("JAVA_HOME", System.getProperty("java.home"));
            env.put("SPARK_LOCAL_IP", "127.0.0.1");
            long t0 = System.nanoTime();
            submit = pb.start();
            // a guard against a hung cluster only (the run takes well under a minute), not a performance check
            boolean ended = submit.waitFor(10, TimeUnit.MINUTES);
            String submitLog = Files.readString(log);
            assertTrue(ended, "spark-submit still running after 10 minutes:\n" + StandaloneClusterTest.tail(submitLog) + containerLogs(yarn));
            System.out.printf("YarnClusterTest: submit to the end of the YARN application took %.1f s%n", (System.nanoTime() - t0) / 1e9);
            assertEquals(0, submit.exitValue(), "spark-submit failed:\n" + StandaloneClusterTest.tail(submitLog) + containerLogs(yarn));

            // the ResourceManager's word: one application, finished and succeeded
            ApplicationReport report;
            try (YarnClient client = YarnClient.createYarnClient()) {
                client.init(cluster);
                client.start();
                List<ApplicationReport> apps = client.getApplications();
                assertEquals(1, apps.size(), apps.toString());
                report = apps.get(0);
            }
            assertEquals("weightlab stats", report.getName());
            assertEquals("SPARK", report.getApplicationType());
            assertEquals(YarnApplicationState.FINISHED, report.getYarnApplicationState(), report.toString());
            assertEquals(FinalApplicationStatus.SUCCEEDED, report.getFinalApplicationStatus(), report.toString() + containerLogs(yarn));

            // the driver ran in the AM's container (container 1) and the executors in other containers, each a JVM the
            // NodeManager launched: their logs are in the NodeManager's log directory
            Map<String, String> containers = containerLog(yarn, report.getApplicationId().toString(), "stdout");
            assertTrue(containers.keySet().stream().anyMatch(c -> c.endsWith("_000001")
                            && containers.get(c).contains("stats (fleet): " + (STEPS.length + 1) + " checkpoint(s) analysed")),
                    "the driver's summary is not in the AM container's stdout: " + containers);
            long executors = containers.entrySet().stream().filter(e -> !e.getKey().endsWith("_000001")).count();
            assertTrue(executors >= 1, "no executor container: " + containers.keySet());

            // the dataset on HDFS: committed, and its run record says where it ran
            String out = defaultFs + "/reports/fleet";
            assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/reports/fleet/_SUCCESS")), "no _SUCCESS");
            assertFalse(fs.exists(new org.apache.hadoop.fs.Path("/reports/fleet/_temporary")), "staging left behind");
            FileStatus[] records = fs.listStatus(new org.apache.hadoop.fs.Path("/reports/fleet/_fleet/runs"));
            assertEquals(1, records.length);
            JsonNode record;
            try (var in = fs.open(records[0].getPath())) {
                record = JSON.readTree(in);
            }
            assertEquals("yarn", record.get("spark_master").asText(), record.toString());
            assertEquals(STEPS.length + 1, record.get("analysed").size(), record.toString());

            // the same job on local Spark over the local files
            Path localOut = tmp.resolve("local-fleet");
            Cli.Run local = Cli.run("stats", series.toUri() + "checkpoint-*", fixture.toString(), "--out", localOut.toString(),
                    "--slice-mb", "4", "--master", "local[2]");
            assertEquals(0, local.exit(), local.err());

            // the same partitions, one file (one checkpoint) in each
            Map<String, Integer> localFiles = partitionFiles(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(localOut.toUri()));
            Map<String, Integer> yarnFiles = partitionFiles(fs, new org.apache.hadoop.fs.Path("/reports/fleet"));
            assertEquals(STEPS.length + 1, localFiles.size(), localFiles.toString());
            assertTrue(localFiles.values().stream().allMatch(n -> n == 1), localFiles.toString());
            assertEquals(localFiles, yarnFiles);

            // every row equal, every column but the run's own (RUN_COLUMNS)
            Dataset<Row> a = TestSpark.get().read().parquet(localOut.toString());
            Dataset<Row> b = TestSpark.get().read().parquet(out);
            assertEquals(a.schema(), b.schema());
            assertTrue(Arrays.asList(a.columns()).containsAll(List.of(RUN_COLUMNS)), Arrays.toString(a.columns()));
            a = a.drop(RUN_COLUMNS);
            b = b.drop(RUN_COLUMNS);
            long rows = a.count();
            assertTrue(rows > STEPS.length * 13, "rows: " + rows);
            assertEquals(rows, b.count());
            assertEquals(0, a.exceptAll(b).count(), "rows of the local run missing from the YARN run");
            assertEquals(0, b.exceptAll(a).count(), "rows of the YARN run missing from the local run");
        } finally {
            if (submit != null) {
                submit.descendants().forEach(ProcessHandle::destroyForcibly);
                submit.destroyForcibly();
                submit.waitFor(30, TimeUnit.SECONDS);
            }
            if (yarn != null) yarn.stop();
            // containers the NodeManager did not get to stop (it runs them as children of this JVM)
            String marker = YarnClusterTest.class.getSimpleName();
            ProcessHandle.current().descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains(marker))
                    .forEach(ProcessHandle::destroyForcibly);
            if (hdfs != null) hdfs.shutdown(true);
        }
    }

    /** A one-NodeManager cluster with room for a 512 MB AM and two 512 MB executors (each plus 384 MB overhead). */
    static YarnConfiguration yarnConf(String defaultFs) {
        YarnConfiguration c = new YarnConfiguration();
        c.set("fs.defaultFS", defaultFs);
        c.set(YarnConfiguration.RM_HOSTNAME, "127.0.0.1");
        c.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
        c.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, 2048);
        c.setInt(YarnConfiguration.NM_PMEM_MB, 4096);
        c.setInt(YarnConfiguration.NM_VCORES, 4);
        c.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
        c.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
        // a full disk on the build machine must not mark the only node unhealthy
        c.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
        // hadoop-client-minicluster has no capacity-scheduler.xml: one queue, all of the cluster
        c.set("yarn.scheduler.capacity.root.queues", "default");
        c.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
        c.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
        c.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
        c.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
        c.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
        c.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
        c.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
        // the node's Java, as yarn-env.sh sets it on a real cluster (containers run $JAVA_HOME/bin/java)
        c.set(YarnConfiguration.NM_ADMIN_USER_ENV, "JAVA_HOME=" + System.getProperty("java.home"));
        return c;
    }

    /** Per partition directory (model=.../step=...), how many data files it holds. */
    static Map<String, Integer> partitionFiles(FileSystem fs, org.apache.hadoop.fs.Path root) throws java.io.IOException {
        Map<String, Integer> out = new TreeMap<>();
        String base = fs.makeQualified(root).toUri().getPath().replaceAll("/+$", ""); // a local directory's URI ends in '/'
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        while (it.hasNext()) {
            String rel = it.next().getPath().toUri().getPath().substring(base.length() + 1);
            if (rel.startsWith("_") || rel.startsWith(".") || rel.contains("/.")) continue; // staging, run records, checksums
            out.merge(rel.contains("/") ? rel.substring(0, rel.lastIndexOf('/')) : "(top level) " + rel, 1, Integer::sum);
        }
        return out;
    }

    /** Container id to its stderr, from the NodeManager's log directory. */
    static Map<String, String> containerStderr(MiniYARNCluster yarn, String appId) throws java.io.IOException {
        return containerLog(yarn, appId, "stderr");
    }

    /** Container id to its log file {@code name} (stdout, stderr), from the NodeManager's log directory. */
    static Map<String, String> containerLog(MiniYARNCluster yarn, String appId, String name) throws java.io.IOException {
        Map<String, String> out = new TreeMap<>();
        for (String dir : yarn.getNodeManager(0).getConfig().getTrimmedStrings(YarnConfiguration.NM_LOG_DIRS)) {
            Path app = Paths.get(dir.startsWith("file:") ? java.net.URI.create(dir).getPath() : dir, appId);
            if (!Files.isDirectory(app)) continue;
            try (Stream<Path> cs = Files.list(app)) {
                for (Path c : cs.toList()) {
                    Path err = c.resolve(name);
                    out.put(c.getFileName().toString(), Files.exists(err) ? Files.readString(err) : "");
                }
            }
        }
        return out;
    }

    /** Every container's stderr tail, for a failure message. */
    static String containerLogs(MiniYARNCluster yarn) {
        StringBuilder b = new StringBuilder();
        try (YarnClient client = YarnClient.createYarnClient()) {
            client.init(yarn.getConfig());
            client.start();
            for (ApplicationReport r : client.getApplications()) {
                b.append("\n== ").append(r.getApplicationId()).append(' ').append(r.getYarnApplicationState()).append(' ')
                        .append(r.getFinalApplicationStatus()).append(": ").append(r.getDiagnostics());
                for (Map.Entry<String, String> e : containerStderr(yarn, r.getApplicationId().toString()).entrySet()) {
                    b.append("\n== ").append(e.getKey()).append(" stderr:\n").append(StandaloneClusterTest.tail(e.getValue()));
                }
            }
        } catch (Exception e) {
            b.append("\n(container logs unavailable: ").append(e).append(')');
        }
        return b.toString();
    }
}
