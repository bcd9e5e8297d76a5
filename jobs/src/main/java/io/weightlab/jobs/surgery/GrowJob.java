package io.weightlab.jobs.surgery;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.transform.EmbedAction;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.DType;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.surgery.WidthGrowth;
import io.weightlab.common.synth.DecoderArchitecture;
import io.weightlab.common.transform.WidthExpandAction;
import io.weightlab.common.transform.TensorAction;
import io.weightlab.common.transform.WithNoiseAction;
import io.weightlab.common.surgery.DecoderLogits;
import io.weightlab.common.surgery.LogitProbe;
import io.weightlab.common.io.RangeReader;
import io.weightlab.jobs.spark.SerializableConfiguration;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.broadcast.Broadcast;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code weightlab grow}: a deeper and/or wider-FFN decoder that computes exactly the source model's function
 * (function-preserving growth, as in masked structural growth and "Transfer training from smaller language
 * models"): the source fills the leading blocks; new layers are appended with zero o_proj and down_proj, so each
 * is an identity residual block, and new FFN units get small random gate/up rows but zero down_proj columns.
 * The input side is random so the new parts receive gradients. A wider residual stream and more heads use
 * {@link WidthGrowth} (copies of the residual, split reader weights, rescaled RMSNorm; docs/algorithms.md §24.1).
 */
public final class GrowJob {
    /** {@code probeTokens}: null = probe only when {@code noiseStd > 0} (16 tokens), 0 = never. */
    public record Options(String source, String out, boolean overwrite, Map<String, String> set, double newStd, double noiseStd, Integer probeTokens,
                          long seed, long maxShardBytes) {}

    static final int DEFAULT_PROBE_TOKENS = 16;

    private static final Set<String> GROWABLE = Set.of("num_hidden_layers", "intermediate_size", "moe_intermediate_size",
            "hidden_size", "num_attention_heads", "num_key_value_heads");

    private GrowJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the grown checkpoint goes");
        if (o.set().isEmpty()) throw new UsageException("give the target's shape with --set, e.g. --set num_hidden_layers=32 --set intermediate_size=16384");
        if (!(o.newStd() >= 0)) throw new UsageException("--new-std must be >= 0");
        if (!(o.noiseStd() >= 0)) throw new UsageException("--noise-std must be >= 0");
        if (o.probeTokens() != null && o.probeTokens() < 0) throw new UsageException("--probe-tokens must be >= 0");
        try (JobRun run = JobRun.start("grow", sc, console)) {
            return run(run, o);
        }
    }

    private static Map<String, Object> run(JobRun job, Options o) {
        Configuration hconf = job.hadoop();
        Checkpoint src = CheckpointCatalog.open(hconf, o.source());
        ObjectNode config = CheckpointSiblings.modelConfig(hconf, o.source());
        ObjectNode target = config.deepCopy();
        for (Map.Entry<String, String> e : o.set().entrySet()) {
            if (!GROWABLE.contains(e.getKey())) {
                throw new UsageException("--set " + e.getKey() + ": grow changes " + new java.util.TreeSet<>(GROWABLE) + " only (rule: FunctionPreserving)");
            }
            long old = config.path(e.getKey()).asLong(-1), v;
            try {
                v = Long.parseLong(e.getValue());
            } catch (NumberFormatException ex) {
                throw new UsageException("--set " + e.getKey() + "=" + e.getValue() + ": not an integer");
            }
            if (old < 1 || v < old) throw new UsageException("--set " + e.getKey() + "=" + v + ": must be at least the source's " + old + " (rule: TargetNotSmaller)");
            target.put(e.getKey(), v);
        }
        WidthGrowth width = WidthGrowth.requested(config, target)
                ? WidthGrowth.plan(config, target, o.set().keySet(), src.root(), o.newStd(), o.seed()) : null;
        int srcLayers = config.path("num_hidden_layers").asInt();
        DType newDtype = src.tensors().get(0).dtype();
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        int copied = 0, grown = 0, fresh = 0;
        for (DecoderArchitecture.Tensor t : DecoderArchitecture.tensors(target, "the target config")) {
            TensorInfo s = t.layer() >= srcLayers ? null : src.tensor(t.name());
            if (t.layer() < srcLayers && s == null) throw new UsageException(src.root() + ": '" + t.name() + "' is not in the source (rule: SelectedKeyExists)");
            WidthExpandAction expand = width != null && s != null ? width.action(t, s) : null;
            if (expand != null && !Arrays.equals(s.shape(), t.shape())) {
                TensorAction act = noisy(expand, t, o);
                plans.add(TransformPlanner.Planned.computed(t.name(), s.dtype(), t.shape(), "widened", act, act.describe()));
                grown++;
                continue;
            }
            if (s != null && Arrays.equals(s.shape(), t.shape())) {
                plans.add(new TransformPlanner.Planned(s, "copy", KeepAction.INSTANCE, "unchanged", s.dtype()));
                copied++;
                continue;
            }
            boolean outputSide = t.kind() == ModuleKind.MLP_DOWN || (s == null && t.kind() == ModuleKind.ATTN_O);
            EmbedAction a;
            String why;
            if (outputSide) {
                a = new EmbedAction(s, t.shape(), null, 0, o.seed(), t.name());
                why = "output side of new units: zero";
            } else if (t.kind() == ModuleKind.NORM) {
                a = new EmbedAction(s, t.shape(), null, 1.0, o.seed(), t.name());
                why = "norm gain: ones";
            } else {
                a = new EmbedAction(s, t.shape(), o.newStd() > 0 ? Samplers.normal(o.newStd()) : null, 0, o.seed(), t.name());
                why = "input side of new units: N(0, " + o.newStd() + "^2)";
            }
            DType dt = s != null ? s.dtype() : newDtype;
            TensorAction act = noisy(a, t, o);
            if (act != a) why += " + N(0, " + o.noiseStd() + "^2) noise";
            plans.add(TransformPlanner.Planned.computed(t.name(), dt, t.shape(), s == null ? "new" : "grown", act, why));
            if (s == null) fresh++;
            else grown++;
        }
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), ModelWriter.jobMetadata("grow"), o.source(), null, target);
        job.console().printf("[grow] %s: %d copied, %d grown, %d new tensors in %d shard(s)%n", src.root(), copied, grown, fresh, model.plan().shards().size());
        job.output(o.out(), JobRun.Output.REQUIRED, "where the grown checkpoint goes", o.overwrite());
        return job.commitAfter("the grown checkpoint", () -> {
            ModelWriter.write(job, model);
            Map<String, Object> probe = probe(job, o, config, src, target);
            Map<String, Object> run = job.facts();
            run.put("source", src.root());
            run.put("set", o.set());
            run.put("new_std", o.newStd());
            run.put("noise_std", o.noiseStd());
            run.put("seed", o.seed());
            if (width != null) {
                run.put("residual_copies", width.copies());
                run.put("mean_square_factor", width.meanSquareFactor());
                run.put("rms_norm_eps", target.path("rms_norm_eps").asDouble());
                run.put("lossless", o.noiseStd() == 0);
            }
            if (probe != null) run.put("logit_probe", probe);
            run.put("seconds", job.seconds());
            ModelWriter.writeProvenance(job.staged(), run, "tensors", ModelWriter.planRows(plans));
            job.console().printf("[grow] wrote %s in %.1f s%n", o.out(), job.seconds());
            return run;
        });
    }

    /** {@code --noise-std}: every weight matrix the growth changes or creates gets N(0, σ²) added (norm gains do not). */
    private static TensorAction noisy(TensorAction a, DecoderArchitecture.Tensor t, Options o) {
        if (o.noiseStd() == 0 || t.shape().length != 2 || t.kind() == ModuleKind.NORM) return a;
        return new WithNoiseAction(a, o.noiseStd(), o.seed(), t.name());
    }

    /**
     * The logits of the source and the staged grown model on the same seeded tokens, in one task on an executor (the
     * driver reads headers only): how far --noise-std moved the function, or a check that growth kept it.
     */
    private static Map<String, Object> probe(JobRun job, Options o, ObjectNode config, Checkpoint src, ObjectNode target) {
        int count = o.probeTokens() != null ? o.probeTokens() : o.noiseStd() > 0 ? DEFAULT_PROBE_TOKENS : 0;
        if (count == 0) return null;
        String why = DecoderLogits.unsupported(config);
        if (why != null) {
            job.console().printf("[grow] logit probe skipped: %s%n", why);
            return Map.of("skipped", why);
        }
        Checkpoint grown = CheckpointCatalog.open(job.hadoop(), job.staged().stagedFile(ModelWriter.PROVENANCE).getParent().toString());
        String before = config.toString(), after = target.toString();
        Broadcast<SerializableConfiguration> conf = job.conf();
        long seed = o.seed();
        Map<String, Object> m = job.jsc().parallelize(List.of(0), 1).map(i -> {
            ObjectMapper json = new ObjectMapper();
            try (RangeReader reader = new RangeReader(conf.value().get())) {
                return new LinkedHashMap<>(LogitProbe.run(json.readTree(before), src, json.readTree(after), grown, reader, seed, count));
            }
        }).collect().get(0);
        job.console().printf("[grow] logits on %d probe tokens moved by at most %.3g (largest logit %.3g, relative L2 %.3g, mean KL %.3g, top-1 agreement %.0f%%)%n",
                count, (Double) m.get("max_abs_logit_diff"), (Double) m.get("max_abs_logit"), (Double) m.get("rel_l2_logit_diff"),
                (Double) m.get("mean_kl"), 100 * (Double) m.get("top1_agreement"));
        return m;
    }
}
