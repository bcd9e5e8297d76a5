package io.weightlab.jobs.weights;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.SerializableConfiguration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.SafetensorsWriter;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.lora.LoraConversion;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab lora-convert}: a trained adapter from a base-changing init (PiSSA, MiLoRA, OLoRA, LoRA-GA) and the
 * initial adapter it started from become one plain rank-2r LoRA for the original base ({@link LoraConversion}). The
 * driver reads headers and the two configs; one executor task streams the converted tensors, one module at a time.
 */
public final class LoraConvertJob {
    public record Options(String trained, String initial, String out, boolean overwrite, String baseModel) {}

    private LoraConvertJob() {}

    public static int run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the converted adapter goes");
        if (o.initial() == null) throw new UsageException("--initial (the adapter as lora-init wrote it, before training) is required");
        try (JobRun run = JobRun.start("lora-convert", sc, console)) {
            return run(run, o);
        }
    }

    private static int run(JobRun job, Options o) {
        PrintStream console = job.console();
        Configuration hconf = job.hadoop();
        Checkpoint trained = CheckpointCatalog.open(hconf, weights(o.trained()));
        Checkpoint initial = CheckpointCatalog.open(hconf, weights(o.initial()));
        List<LoraConversion.Pair> pairs = LoraConversion.pair(trained, initial);
        String base = o.baseModel() != null ? o.baseModel() : originalBase(hconf, o.initial());
        String config;
        try {
            config = LoraConversion.config(CheckpointSiblings.readSmall(hconf, dir(o.trained()) + "/" + PeftAdapterWriter.CONFIG), base);
        } catch (IOException e) {
            throw new UsageException(dir(o.trained()) + "/" + PeftAdapterWriter.CONFIG + ": not valid JSON: " + e.getMessage());
        }
        console.printf("[lora-convert] %d module(s): rank r -> 2r for %s%n", pairs.size(), base == null ? "the trained config's base" : base);
        StagedOutput staged = job.output(o.out(), JobRun.Output.REQUIRED, "where the converted adapter goes", o.overwrite());
        Broadcast<SerializableConfiguration> conf = job.conf();
        job.commitAfter("the converted adapter", () -> {
            String path = staged.staged(PeftAdapterWriter.WEIGHTS).toString();
            job.jsc().parallelize(List.of(path), 1).foreach(p -> write(p, pairs, conf.value().get()));
            staged.writeString(PeftAdapterWriter.CONFIG, config);
            return null;
        });
        console.printf("[lora-convert] plain LoRA written: %s%n", o.out());
        return pairs.size();
    }

    private static void write(String path, List<LoraConversion.Pair> pairs, Configuration conf) throws IOException {
        SafetensorsLayout layout = SafetensorsLayout.of(LoraConversion.specs(pairs), Map.of("format", "pt"));
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        fs.setWriteChecksum(false);
        try (FSDataOutputStream os = fs.create(p, true); RangeReader reader = new RangeReader(conf);
             SafetensorsWriter w = new SafetensorsWriter(os, layout, PeftAdapterWriter.WEIGHTS)) {
            for (LoraConversion.Pair pair : pairs) {
                double[] a = LoraConversion.stackA(values(reader, pair.a()), values(reader, pair.a0()));
                emit(w, pair, a);
                double[] b = LoraConversion.stackB(values(reader, pair.b()), values(reader, pair.b0()), pair.out(), pair.r());
                emit(w, pair, b);
            }
            w.finish();
        }
    }

    private static double[] values(RangeReader reader, TensorInfo t) {
        return TensorValues.read(reader, t, 0, t.elementCount(), null);
    }

    private static void emit(SafetensorsWriter w, LoraConversion.Pair pair, double[] v) throws IOException {
        byte[] bytes = new byte[Math.multiplyExact(v.length, pair.dtype().byteSize())];
        ElementEncoder.encode(pair.dtype(), v, 0, v.length, bytes, 0);
        w.write(bytes);
    }

    private static String dir(String adapter) {
        return adapter.endsWith(".safetensors") ? new Path(adapter).getParent().toString() : adapter.replaceAll("/+$", "");
    }

    private static String weights(String adapter) {
        return adapter.endsWith(".safetensors") ? adapter : dir(adapter) + "/" + PeftAdapterWriter.WEIGHTS;
    }

    /** The original base a lora-init run started from, from the provenance beside its adapter/ folder, or null. */
    private static String originalBase(Configuration conf, String initial) {
        Path prov = new Path(new Path(dir(initial)).getParent(), io.weightlab.jobs.spark.OutputNames.PROVENANCE);
        try {
            if (!prov.getFileSystem(conf).exists(prov)) return null;
            JsonNode run = new ObjectMapper().readTree(CheckpointSiblings.readSmall(conf, prov.toString())).path("run");
            if (!"lora-init".equals(run.path("job").asText())) return null;
            String in = run.path("input").asText(null);
            if (in == null) return null;
            if (in.endsWith(".safetensors") || in.endsWith(".json")) in = new Path(in).getParent().toString();
            return in.startsWith("file:") ? new Path(in).toUri().getPath() : in;
        } catch (IOException e) {
            return null;
        }
    }
}
