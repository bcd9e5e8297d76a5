package io.weightlab.jobs;

import io.weightlab.jobs.spark.SparkSupport;

import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;

import java.util.Map;

/** One local[2] SparkSession for the whole test JVM (starting Spark costs seconds). */
public final class TestSpark {
    private static SparkSession session;

    private TestSpark() {}

    public static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSupport.session("weightlab-tests", "local[2]", Map.of(
                    "spark.ui.enabled", "false",
                    "spark.sql.shuffle.partitions", "4",
                    "spark.driver.host", "127.0.0.1"));
        }
        return session;
    }

    /** The context the jobs run on (the session's). */
    public static SparkContext context() {
        return get().sparkContext();
    }
}
