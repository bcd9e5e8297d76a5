package io.weightlab.jobs.spark;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The Hadoop configuration of a job that starts no Spark (inspect) sees what a SparkContext's would: spark.hadoop.*
 * from --conf and from spark-submit (which passes its --conf as system properties), with --conf winning, and nothing
 * of other keys.
 */
class SparkSupportTest {
    @Test
    void hadoopConfTakesSparkHadoopKeysFromConfAndFromSparkSubmit() {
        System.setProperty("spark.hadoop.weightlab.test.submitted", "from-spark-submit");
        System.setProperty("spark.hadoop.weightlab.test.both", "from-spark-submit");
        try {
            Configuration c = SparkSupport.hadoopConf("local[1]", Map.of("spark.hadoop.weightlab.test.both", "from-conf",
                    "spark.hadoop.weightlab.test.conf", "from-conf", "spark.weightlab.test.plain", "not-hadoop"));
            assertEquals("from-spark-submit", c.get("weightlab.test.submitted"));
            assertEquals("from-conf", c.get("weightlab.test.conf"));
            assertEquals("from-conf", c.get("weightlab.test.both"), "--conf is applied after spark-submit's properties");
            assertNull(c.get("spark.weightlab.test.plain"));
            assertNull(c.get("weightlab.test.plain"));
        } finally {
            System.clearProperty("spark.hadoop.weightlab.test.submitted");
            System.clearProperty("spark.hadoop.weightlab.test.both");
        }
    }
}
