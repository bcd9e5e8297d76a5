package io.weightlab.jobs.spark;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.PeftAdapterWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * A PEFT adapter's weights file written by one executor, streamed module by module from the factor files the
 * factor tasks left in the staging, so the driver never holds the factors: lora-init's adapter and the federated
 * LoRA round's aggregate.
 */
public final class AdapterFiles {
    private AdapterFiles() {}

    /** Writes {@code <prefix>adapter_model.safetensors} into the run's staged output (not committed). */
    public static void writeWeights(JobRun run, String prefix, List<LoraModule> modules, Map<String, String> factorFiles) {
        String path = run.staged().staged(prefix + PeftAdapterWriter.WEIGHTS).toString();
        Broadcast<SerializableConfiguration> conf = run.conf();
        run.jsc().parallelize(List.of(path), 1).foreach(p -> writeOnExecutor(p, modules, factorFiles, conf.value().get()));
    }

    /** On an executor: every module's factors, streamed from the factor files into one adapter_model.safetensors. */
    public static void writeOnExecutor(String path, List<LoraModule> modules, Map<String, String> files, Configuration conf) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        fs.setWriteChecksum(false);
        try (FSDataOutputStream os = fs.create(p, true); RangeReader reader = new RangeReader(conf)) {
            PeftAdapterWriter.writeWeights(os, modules, files, reader);
        }
    }
}
