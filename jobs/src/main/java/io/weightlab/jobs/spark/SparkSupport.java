package io.weightlab.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;

import java.util.Map;

/**
 * Starts Spark for a job: whatever master spark-submit gave, else local[*]; extra --conf entries applied. Jobs run on
 * a bare {@link SparkContext}: none of them uses SQL, and a SparkSession's start (Scala reflection, SQLConf) cost about
 * 0.5 s of every run's start-up (BENCHMARKS.md, "Job start-up").
 */
public final class SparkSupport {
    private SparkSupport() {}

    /** The context a command runs its job on; stopped on close only if this call created it (an embedding application keeps its own). */
    public static final class Handle implements AutoCloseable {
        private final SparkContext context;
        private final boolean owned;
        private SparkSession session;

        Handle(SparkContext context, boolean owned) {
            this.context = context;
            this.owned = owned;
        }

        public SparkContext context() { return context; }

        /** A session on the same context, built on first use (only a job that runs SQL pays for it). */
        public synchronized SparkSession session() {
            if (session == null) session = SparkSession.builder().config(context.getConf()).getOrCreate();
            return session;
        }

        @Override
        public void close() {
            if (owned) context.stop();
        }
    }

    public static Handle open(String appName, String master, Map<String, String> conf) {
        boolean existed = org.apache.spark.SparkContext$.MODULE$.getActive().isDefined();
        return new Handle(context(appName, master, conf), !existed);
    }

    /** The active context, or a new one from {@code master} and {@code conf}. */
    public static SparkContext context(String appName, String master, Map<String, String> conf) {
        SparkConf sparkConf = sparkConf(appName, master, conf);
        // in local mode the tasks run in this JVM: load OpenBLAS while Spark starts
        if (isLocal(sparkConf)) io.weightlab.common.linalg.Lapack.preloadInBackground();
        SparkContext sc = SparkContext.getOrCreate(sparkConf);
        // An existing context ignores new spark.hadoop.* settings; the FileSystem must still see them.
        if (conf != null) {
            conf.forEach((k, v) -> {
                if (k.startsWith("spark.hadoop.")) sc.hadoopConfiguration().set(k.substring("spark.hadoop.".length()), v);
            });
        }
        return sc;
    }

    /** Whether a job would run in local mode (tasks in this JVM): the master given, spark-submit's, or the default. */
    public static boolean isLocal(String master, Map<String, String> conf) {
        if (org.apache.spark.SparkContext$.MODULE$.getActive().isDefined()) return org.apache.spark.SparkContext$.MODULE$.getActive().get().isLocal();
        return isLocal(sparkConf("weightlab", master, conf));
    }

    private static boolean isLocal(SparkConf sc) {
        return sc.get("spark.master").startsWith("local");
    }

    /**
     * The Hadoop configuration a job's SparkContext would have, without starting Spark (a job that reads headers
     * only): {@code spark.hadoop.*} from --conf and from spark-submit, and what Spark adds itself (S3 credentials from
     * the environment), by Spark's own {@code SparkHadoopUtil}.
     */
    public static org.apache.hadoop.conf.Configuration hadoopConf(String master, Map<String, String> conf) {
        return org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(sparkConf("weightlab", master, conf));
    }

    /** A SparkSession (tests and embedding applications that want one); jobs themselves need only its context. */
    public static SparkSession session(String appName, String master, Map<String, String> conf) {
        return SparkSession.builder().config(context(appName, master, conf).getConf()).getOrCreate();
    }

    private static SparkConf sparkConf(String appName, String master, Map<String, String> conf) {
        SparkConf sc = new SparkConf();
        if (master != null) sc.setMaster(master);
        else if (!sc.contains("spark.master")) sc.setMaster("local[*]");
        sc.setIfMissing("spark.app.name", appName);
        sc.setIfMissing("spark.ui.showConsoleProgress", "false");
        // One OpenBLAS thread per task: two concurrent multi-threaded tasks oversubscribe the cores (docs/design.md (Stack)).
        sc.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", "1");
        // A local run is one short-lived JVM: the web UI (Jetty) only slows its start; --conf turns it back on.
        if (isLocal(sc)) sc.setIfMissing("spark.ui.enabled", "false");
        if (conf != null) conf.forEach(sc::set);
        return sc;
    }
}
