package io.weightlab.jobs.cli;

import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;

/** Spark options shared by every job that runs on Spark (spark-submit's own flags win when it launches us). */
public class SparkOptions {
    @Option(names = "--master", description = "Spark master when launched directly (default: spark-submit's, else local[*])")
    public String master;

    @Option(names = "--conf", description = "Spark or Hadoop setting key=value (spark.hadoop.* reaches the FileSystem); repeatable")
    public Map<String, String> conf = new LinkedHashMap<>();
}
