package io.weightlab.jobs.spark;

/** How much one task may hold: the budget of the jobs that factorize a whole matrix in one task (spectrum, compare). */
public final class TaskBudget {
    private TaskBudget() {}

    /**
     * The largest matrix one task may factorize whole, in bytes of float64: its doubles, LAPACK's copy and workspace
     * come to about 3x, and every task slot of an executor may hold one at a time. Local mode: this JVM's heap over
     * its threads. Between 64 MiB and 4 GiB.
     */
    public static long exactBytes(org.apache.spark.SparkContext sc) {
        org.apache.spark.SparkConf c = sc.getConf();
        long heap = sc.isLocal() ? Runtime.getRuntime().maxMemory() : c.getSizeAsBytes("spark.executor.memory", "1g");
        int slots = sc.isLocal() ? sc.defaultParallelism() : Math.max(1, c.getInt("spark.executor.cores", 1) / Math.max(1, c.getInt("spark.task.cpus", 1)));
        return Math.max(64L << 20, Math.min(4096L << 20, heap / (3L * slots)));
    }
}
