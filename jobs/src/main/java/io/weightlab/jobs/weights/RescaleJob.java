package io.weightlab.jobs.weights;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import io.weightlab.jobs.spark.MomentPass;

import io.weightlab.common.transform.ApplyRule;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.transform.TransformedShardWriter;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.commit.ResumeKey;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import io.weightlab.common.stats.MomentAccumulator;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code weightlab rescale} (alias {@code reinit}): new weights from a checkpoint by per-module rules
 * ({@code --apply 'mlp.*=tvr:target_std=0.02'}). The driver reads headers, measures the moments the rules need in
 * one distributed pass, plans every tensor, and executors write the shards; the index and _SUCCESS come last.
 */
public final class RescaleJob {
    /** Kept for the commands that name it; the file belongs to every weight writer ({@link ModelWriter#PROVENANCE}). */
    public static final String PROVENANCE = ModelWriter.PROVENANCE;
    private static final String WHAT = "where the new checkpoint goes";

    public record Options(String input, String out, boolean overwrite, List<String> apply, long seed, DType outDType,
                          long maxShardBytes, TensorContext.Layout layout, long sliceBytes, boolean resume) {
        public Options(String input, String out, boolean overwrite, List<String> apply, long seed, DType outDType, long maxShardBytes,
                       TensorContext.Layout layout, long sliceBytes) {
            this(input, out, overwrite, apply, seed, outDType, maxShardBytes, layout, sliceBytes, false);
        }
    }

    public record Result(List<TransformPlanner.Planned> plans, Map<String, MomentAccumulator> before,
                         Map<String, TransformedShardWriter.ShardResult> shards, Map<String, Object> run) {}

    private RescaleJob() {}

    public static Result run(SparkContext sc, Options o, PrintStream console) {
        if (o.apply() == null || o.apply().isEmpty()) throw new UsageException("give at least one --apply PATTERN=METHOD rule");
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, WHAT);
        try (JobRun run = JobRun.start("rescale", sc, console)) {
            Configuration hconf = run.hadoop();
            Checkpoint ckpt = CheckpointCatalog.open(hconf, o.input());
            List<ApplyRule> rules = new ArrayList<>();
            for (String a : o.apply()) rules.add(ApplyRule.parse(a, path -> CheckpointSiblings.readSmall(hconf, path)));
            TensorContext.Layout layout = o.layout() != null ? o.layout() : CheckpointSiblings.layout(hconf, o.input());
            List<TensorInfo> tensors = ckpt.tensors();
            TransformPlanner planner = new TransformPlanner(tensors, rules, layout, o.seed(), o.outDType());

            StagedOutput staged = run.output(o.out(), JobRun.Output.REQUIRED, WHAT, o.overwrite(), o.resume() ? resumeKey(hconf, ckpt, o, layout) : null);
            List<TensorInfo> measured = planner.needingMoments();
            console.printf("[rescale] %s: %d tensors in %d file(s); %d rule(s); measuring %d tensor(s)%n", ckpt.root(),
                    tensors.size(), ckpt.shards().size(), rules.size(), measured.size());
            Map<String, MomentAccumulator> before = MomentPass.measure(run, measured, o.sliceBytes());
            long tMeasured = System.nanoTime();
            List<TransformPlanner.Planned> plans = planner.plan(before);
            long changed = plans.stream().filter(p -> p.action().changesValues()).count();
            ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), shardMetadata(o, rules), o.input(), o.outDType(), null);
            console.printf("[rescale] %d tensor(s) change, %d kept; writing %d shard(s) of <= %s%n", changed, plans.size() - changed,
                    model.plan().shards().size(), Format.bytes(o.maxShardBytes()));

            Result res = run.commitAfter("the checkpoint", () -> {
                ModelWriter.Written written = ModelWriter.write(run, model);
                long tWritten = System.nanoTime();
                Map<String, Object> facts = runFacts(run, o, ckpt, layout, planner.numLayers(), written.shards(), written.copied());
                facts.put("seconds_measure", run.secondsAt(tMeasured));
                facts.put("seconds_write", (tWritten - tMeasured) / 1e9);
                facts.put("seconds", run.seconds());
                facts.put("bytes_in", tensors.stream().mapToLong(TensorInfo::byteLength).sum());
                facts.put("bytes_out", written.bytes());
                writeProvenance(staged, facts, plans, before, written.shards());
                return new Result(plans, before, written.shards(), facts);
            });
            console.printf("[rescale] wrote %s in %d shard(s) to %s in %.1f s%n", Format.bytes((long) res.run().get("bytes_out")), res.shards().size(),
                    o.out(), (double) res.run().get("seconds"));
            return res;
        }
    }

    /** What every shard records in __metadata__: deterministic, so re-runs give the same bytes. */
    static Map<String, String> shardMetadata(Options o, List<ApplyRule> rules) {
        Map<String, String> m = new TreeMap<>();
        m.put("format", "pt");
        m.put("weightlab.job", "rescale");
        m.put("weightlab.apply", String.join(" ; ", rules.stream().map(ApplyRule::text).toList()));
        m.put("weightlab.seed", Long.toString(o.seed()));
        if (o.outDType() != null) m.put("weightlab.out_dtype", o.outDType().name());
        return m;
    }

    private static Map<String, Object> runFacts(JobRun job, Options o, Checkpoint ckpt, TensorContext.Layout layout, int layers,
                                                Map<String, TransformedShardWriter.ShardResult> shards, List<String> siblings) {
        Map<String, Object> run = job.facts();
        run.put("input", ckpt.root());
        run.put("output", o.out());
        run.put("apply", o.apply());
        run.put("seed", o.seed());
        run.put("out_dtype", o.outDType() == null ? "as stored" : o.outDType().name());
        run.put("max_shard_bytes", o.maxShardBytes());
        run.put("layout", layout.name().toLowerCase());
        run.put("num_layers", layers);
        List<Map<String, Object>> files = new ArrayList<>();
        for (TransformedShardWriter.ShardResult r : new TreeMap<>(shards).values()) {
            files.add(Map.of("file", r.fileName(), "bytes", r.length(), "crc32c", String.format("%08x", r.crc32c())));
        }
        run.put("shards", files);
        run.put("copied", siblings);
        run.put("finished", Instant.now().toString());
        return run;
    }

    private static void writeProvenance(StagedOutput staged, Map<String, Object> run, List<TransformPlanner.Planned> plans,
                                        Map<String, MomentAccumulator> before, Map<String, TransformedShardWriter.ShardResult> shards) {
        Map<String, MomentAccumulator> after = new LinkedHashMap<>();
        Map<String, Map<String, Object>> facts = new LinkedHashMap<>();
        for (TransformedShardWriter.ShardResult r : shards.values()) {
            after.putAll(r.written());
            facts.putAll(r.facts());
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        for (TransformPlanner.Planned p : plans) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", p.tensor().name());
            row.put("shape", p.tensor().shapeList());
            row.put("dtype_in", p.tensor().dtype().name());
            row.put("dtype_out", p.outDType().name());
            row.put("rule", p.rule());
            row.put("action", p.action().describe());
            row.put("why", p.why());
            if (before.containsKey(p.tensor().name())) row.put("before", moments(before.get(p.tensor().name())));
            if (after.containsKey(p.tensor().name())) row.put("after_before_cast", moments(after.get(p.tensor().name())));
            if (facts.containsKey(p.tensor().name())) row.put("facts", facts.get(p.tensor().name())); // what the action found (svd-*: k, removed energy)
            rows.add(row);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("run", run);
        doc.put("tensors", rows);
        try (FSDataOutputStream os = staged.create(PROVENANCE)) {
            Tables.writeJson(os, doc);
        } catch (IOException e) {
            throw new WeightLabException("writing " + PROVENANCE + " failed: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> moments(MomentAccumulator m) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("count", m.count());
        r.put("mean", m.mean());
        r.put("std_sample", m.stdSample());
        r.put("min", m.min());
        r.put("max", m.max());
        return r;
    }

    /** Everything the written shards depend on: the input's files and tensors, the rules, seed, dtype, layout and split. */
    static String resumeKey(Configuration conf, Checkpoint ckpt, Options o, TensorContext.Layout layout) {
        return ResumeKey.of(conf, "rescale").checkpoint(ckpt).add(o.apply()).add(o.seed()).add(o.outDType()).add(o.maxShardBytes()).add(layout).hash();
    }
}
