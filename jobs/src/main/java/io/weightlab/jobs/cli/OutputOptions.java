package io.weightlab.jobs.cli;

import picocli.CommandLine.Option;

/** Where results go. */
public class OutputOptions {
    @Option(names = {"-o", "--out"}, description = "output directory URI (file://, hdfs://, s3a://)")
    public String out;

    @Option(names = "--overwrite", description = "replace a committed result already in --out (only at commit time)")
    public boolean overwrite;
}
