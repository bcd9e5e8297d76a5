package io.weightlab.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.util.Map;

/** Creates the SparkSession: whatever master spark-submit gave, else local[*]; extra --conf entries applied. */
public final class SparkSupport {
    private SparkSupport() {}

    /** A session that is stopped on close only if this call created it (an embedding application keeps its own). */
    public record Handle(SparkSession session, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) session.stop();
        }
    }

    public static Handle open(String appName, String master, Map<String, String> conf) {
        boolean existed = SparkSession.getDefaultSession().isDefined() || SparkSession.getActiveSession().isDefined();
        return new Handle(session(appName, master, conf), !existed);
    }

    public static SparkSession session(String appName, String master, Map<String, String> conf) {
        SparkConf sc = new SparkConf();
        if (master != null) sc.setMaster(master);
        else if (!sc.contains("spark.master")) sc.setMaster("local[*]");
        sc.setIfMissing("spark.app.name", appName);
        sc.setIfMissing("spark.ui.showConsoleProgress", "false");
        // One OpenBLAS thread per task: two concurrent multi-threaded tasks oversubscribe the cores (docs/design.md (Stack)).
        sc.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", "1");
        boolean local = sc.get("spark.master").startsWith("local");
        // A local run is one short-lived JVM: the web UI (Jetty) only slows its start; --conf turns it back on.
        if (local) sc.setIfMissing("spark.ui.enabled", "false");
        if (conf != null) conf.forEach(sc::set);
        // in local mode the tasks run in this JVM: load OpenBLAS while Spark starts
        if (local) io.weightlab.common.linalg.Lapack.preloadInBackground();
        SparkSession s = SparkSession.builder().config(sc).getOrCreate();
        // An existing context ignores new spark.hadoop.* settings; the FileSystem must still see them.
        if (conf != null) {
            conf.forEach((k, v) -> {
                if (k.startsWith("spark.hadoop.")) s.sparkContext().hadoopConfiguration().set(k.substring("spark.hadoop.".length()), v);
            });
        }
        return s;
    }
}
