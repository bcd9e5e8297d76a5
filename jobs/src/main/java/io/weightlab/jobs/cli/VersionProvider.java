package io.weightlab.jobs.cli;

import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** {@code -V/--version}: the build's version, filtered into the jar from the POM (never typed by hand). */
public final class VersionProvider implements CommandLine.IVersionProvider {
    public static String version() {
        try (InputStream in = VersionProvider.class.getResourceAsStream("/weightlab/version.txt")) {
            return in == null ? "unknown" : new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public String[] getVersion() {
        return new String[] {"weightlab " + version(), "Java " + System.getProperty("java.version") + ", Spark "
                + org.apache.spark.package$.MODULE$.SPARK_VERSION() + ", Hadoop " + org.apache.hadoop.util.VersionInfo.getVersion()};
    }
}
