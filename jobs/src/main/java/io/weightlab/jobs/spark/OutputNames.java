package io.weightlab.jobs.spark;

/** Output files one job writes and another job (or command) reads: named once here, so no job reads another job's class. */
public final class OutputNames {
    private OutputNames() {}

    /** spectrum's singular values per matrix, read by lora-init --rank-by-energy and report. */
    public static final String SINGULAR_VALUES = "singular_values.json";

    /** The run facts and per-tensor rules of every job that writes weights, read by lora-convert. */
    public static final String PROVENANCE = "weightlab_provenance.json";
}
