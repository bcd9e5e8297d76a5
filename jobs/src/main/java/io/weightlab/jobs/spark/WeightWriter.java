package io.weightlab.jobs.spark;

import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.transform.TransformedShardWriter;
import io.weightlab.common.commit.CompletionMarker;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.ShardPlan;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.WeightLabException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shard writing under {@link ModelWriter} (which every job that writes weights calls): tensors are split into shards as Hugging Face does (default
 * 5 GB, a larger tensor alone), one Spark task writes one shard straight into the staged output (in place on
 * object stores), streaming each tensor piece by piece, and the driver writes the index after every shard is
 * complete. A retried task rewrites its whole shard from the start, and every byte is a function of the plan, so
 * retries and re-runs produce the same files.
 */
public final class WeightWriter {
    private record ShardTask(String fileName, String path, List<TransformPlanner.Planned> tensors,
                             Map<String, String> metadata, String marker) implements Serializable {}

    private WeightWriter() {}

    /** The shard plan for the planned tensors, in their given order. */
    public static ShardPlan shardPlan(List<TransformPlanner.Planned> plans, long maxShardBytes) {
        List<SafetensorsLayout.Spec> specs = new ArrayList<>();
        for (TransformPlanner.Planned p : plans) specs.add(new SafetensorsLayout.Spec(p.tensor().name(), p.outDType(), p.tensor().shape()));
        return ShardPlan.of(specs, maxShardBytes, "model");
    }

    /** Writes every shard on the executors; returns what each wrote, by file name. Does not commit. */
    public static Map<String, TransformedShardWriter.ShardResult> write(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                                         StagedOutput out, ShardPlan plan,
                                                                         List<TransformPlanner.Planned> plans, Map<String, String> metadata) {
        return write(jsc, conf, out, "", plan, plans, metadata);
    }

    /** As above, into the sub-directory {@code prefix} (e.g. "residual/") of the output. */
    public static Map<String, TransformedShardWriter.ShardResult> write(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                                         StagedOutput out, String prefix, ShardPlan plan,
                                                                         List<TransformPlanner.Planned> plans, Map<String, String> metadata) {
        Map<String, TransformPlanner.Planned> byName = new HashMap<>();
        for (TransformPlanner.Planned p : plans) byName.put(p.tensor().name(), p);
        List<ShardTask> tasks = new ArrayList<>();
        Map<String, TransformedShardWriter.ShardResult> byFile = new HashMap<>();
        for (ShardPlan.Shard s : plan.shards()) {
            String path = out.staged(prefix + s.fileName()).toString();
            TransformedShardWriter.ShardResult before = resumed(out, prefix + s.fileName(), path);
            if (before != null) {
                byFile.put(before.fileName(), before); // completed by the run this one took over
                continue;
            }
            List<TransformPlanner.Planned> ts = new ArrayList<>();
            for (SafetensorsLayout.Spec sp : s.specs()) ts.add(byName.get(sp.name()));
            tasks.add(new ShardTask(s.fileName(), path, ts, metadata, out.completionMarker(prefix + s.fileName()).toString()));
        }
        // Bigger shards first; one task per shard so a retry rewrites exactly one file.
        tasks.sort((a, b) -> Long.compare(bytes(b), bytes(a)));
        if (!byFile.isEmpty()) System.out.printf("[writer] resuming: %d shard(s) completed by the previous run are kept%n", byFile.size());
        // Fewer shards than task slots (one 1 GB shard on a 2-core machine): each shard task may transform its
        // parallel-safe tensors on the slots that would otherwise idle.
        int threads = tasks.isEmpty() ? 1 : Math.max(1, Math.min(4, jsc.defaultParallelism() / tasks.size()));
        List<TransformedShardWriter.ShardResult> results = tasks.isEmpty() ? List.of() : jsc.parallelize(tasks, Math.max(1, tasks.size()))
                .map(t -> writeShard(t, conf.value().get(), threads))
                .collect();
        for (TransformedShardWriter.ShardResult r : results) byFile.put(r.fileName(), r);
        return byFile;
    }

    /** A shard a taken-over run completed: its marker holds the ShardResult; the file must have its length. */
    private static TransformedShardWriter.ShardResult resumed(StagedOutput out, String relative, String path) {
        TransformedShardWriter.ShardResult r = CompletionMarker.read(out, relative, TransformedShardWriter.ShardResult.class, -1);
        try {
            return r != null && out.fileSystem().getFileStatus(new Path(path)).getLen() == r.length() ? r : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static long bytes(ShardTask t) {
        long s = 0;
        for (TransformPlanner.Planned p : t.tensors()) s += p.outDType().byteLength(p.tensor().elementCount());
        return s;
    }

    private static TransformedShardWriter.ShardResult writeShard(ShardTask t, Configuration conf, int threads) throws IOException {
        Path path = new Path(t.path());
        FileSystem fs = path.getFileSystem(conf);
        fs.setWriteChecksum(false);
        TransformedShardWriter.ShardResult r;
        try (RangeReader reader = new RangeReader(conf); FSDataOutputStream os = fs.create(path, true)) {
            r = TransformedShardWriter.write(reader, os, t.fileName(), t.tensors(), t.metadata(), threads);
        } catch (IOException e) {
            throw new WeightLabException("writing " + t.path() + " failed: " + e.getMessage(), e);
        }
        // The marker, last: a later --resume keeps this shard only if the marker and a file of its length exist.
        CompletionMarker.write(conf, t.marker(), r, t.path());
        return r;
    }

    /** Writes {@code model.safetensors.index.json} when the output has more than one shard; call after {@link #write}. */
    public static void writeIndex(StagedOutput out, ShardPlan plan) {
        writeIndex(out, "", plan);
    }

    public static void writeIndex(StagedOutput out, String prefix, ShardPlan plan) {
        if (!plan.isSharded()) return;
        try {
            out.writeString(prefix + io.weightlab.common.io.ShardedIndex.DEFAULT_NAME, plan.indexJson(null));
        } catch (IOException e) {
            throw new WeightLabException(out.outputDir() + ": writing the index failed: " + e.getMessage(), e);
        }
    }
}
