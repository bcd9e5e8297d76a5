package io.weightlab.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

import java.util.Map;

/** Creates the SparkSession: whatever master spark-submit gave, else local[*]; extra --conf entries applied. */
public final class SparkSupport {
    private SparkSupport() {}

    public static SparkSession session(String appName, String master, Map<String, String> conf) {
        SparkConf sc = new SparkConf();
        if (master != null) sc.setMaster(master);
        else if (!sc.contains("spark.master")) sc.setMaster("local[*]");
        sc.setIfMissing("spark.app.name", appName);
        sc.setIfMissing("spark.ui.showConsoleProgress", "false");
        sc.setIfMissing("spark.sql.parquet.compression.codec", "zstd");
        // One OpenBLAS thread per task: two concurrent multi-threaded tasks oversubscribe the cores (STACK.md).
        sc.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", "1");
        if (conf != null) conf.forEach(sc::set);
        return SparkSession.builder().config(sc).getOrCreate();
    }
}
