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
    public record Options(String source, String out, boolean overwrite, Map<String, String> set, double newStd, long seed, long maxShardBytes) {}

    private static final Set<String> GROWABLE = Set.of("num_hidden_layers", "intermediate_size", "moe_intermediate_size",
            "hidden_size", "num_attention_heads", "num_key_value_heads");

    private GrowJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the grown checkpoint goes");
        if (o.set().isEmpty()) throw new UsageException("give the target's shape with --set, e.g. --set num_hidden_layers=32 --set intermediate_size=16384");
        if (!(o.newStd() >= 0)) throw new UsageException("--new-std must be >= 0");
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
                plans.add(TransformPlanner.Planned.computed(t.name(), s.dtype(), t.shape(), "widened", expand, expand.describe()));
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
            plans.add(TransformPlanner.Planned.computed(t.name(), dt, t.shape(), s == null ? "new" : "grown", a, why));
            if (s == null) fresh++;
            else grown++;
        }
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), ModelWriter.jobMetadata("grow"), o.source(), null, target);
        job.console().printf("[grow] %s: %d copied, %d grown, %d new tensors in %d shard(s)%n", src.root(), copied, grown, fresh, model.plan().shards().size());
        job.output(o.out(), JobRun.Output.REQUIRED, "where the grown checkpoint goes", o.overwrite());
        return job.commitAfter("the grown checkpoint", () -> {
            ModelWriter.write(job, model);
            Map<String, Object> run = job.facts();
            run.put("source", src.root());
            run.put("set", o.set());
            run.put("new_std", o.newStd());
            run.put("seed", o.seed());
            if (width != null) {
                run.put("residual_copies", width.copies());
                run.put("mean_square_factor", width.meanSquareFactor());
                run.put("rms_norm_eps", target.path("rms_norm_eps").asDouble());
                run.put("lossless", true);
            }
            run.put("seconds", job.seconds());
            ModelWriter.writeProvenance(job.staged(), run, "tensors", ModelWriter.planRows(plans));
            job.console().printf("[grow] wrote %s in %.1f s%n", o.out(), job.seconds());
            return run;
        });
    }
}
