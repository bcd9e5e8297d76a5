package io.weightlab.jobs.surgery;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.StridedSelectionAction;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.surgery.SubclonePlan;
import io.weightlab.common.synth.DecoderArchitecture;
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
 * {@code weightlab shrink}: a smaller decoder initialised from a larger one by weight selection (docs/algorithms.md §6.4):
 * the student's config is the teacher's with overrides (fewer layers, narrower hidden/FFN/heads), every student
 * tensor is looked up under its own name in the teacher (so the first N layers are kept), and each dimension is
 * subsampled uniformly, index ⌊i·D/S⌋. Tensors of the same shape are copied byte for byte. One task per shard.
 */
public final class ShrinkJob {
    public record Options(String teacher, String out, boolean overwrite, Map<String, String> set, long maxShardBytes, String method,
                          String activations, boolean scale) {
        public Options(String teacher, String out, boolean overwrite, Map<String, String> set, long maxShardBytes) {
            this(teacher, out, overwrite, set, maxShardBytes, "select", null, true);
        }
    }

    private ShrinkJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the student checkpoint goes");
        if (o.set().isEmpty()) throw new UsageException("give the student's shape with --set KEY=VALUE, e.g. --set num_hidden_layers=8 --set hidden_size=1024");
        try (JobRun run = JobRun.start("shrink", sc, console)) {
            return run(run, o);
        }
    }

    private static Map<String, Object> run(JobRun job, Options o) {
        PrintStream console = job.console();
        Configuration hconf = job.hadoop();
        Checkpoint teacher = CheckpointCatalog.open(hconf, o.teacher());
        ObjectNode config = CheckpointSiblings.modelConfig(hconf, o.teacher());
        ObjectNode student = config.deepCopy();
        for (Map.Entry<String, String> e : o.set().entrySet()) {
            JsonNode old = config.get(e.getKey());
            if (old == null || !old.canConvertToLong()) throw new UsageException("--set " + e.getKey() + ": not an integer field of the teacher's config.json");
            try {
                long v = Long.parseLong(e.getValue());
                if (v < 1 || v > old.asLong()) {
                    throw new UsageException("--set " + e.getKey() + "=" + v + ": must be in [1, " + old.asLong() + "], the teacher's value (rule: StudentNotLarger)");
                }
                student.put(e.getKey(), v);
            } catch (NumberFormatException ex) {
                throw new UsageException("--set " + e.getKey() + "=" + e.getValue() + ": not an integer");
            }
        }
        long headDim = DecoderArchitecture.headDim(config, o.teacher() + "/config.json");
        if (!config.has("head_dim") && headDim != student.path("hidden_size").asLong() / Math.max(1, student.path("num_attention_heads").asLong())) {
            student.put("head_dim", headDim); // keep the teacher's head size explicit
        }
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        int copied = 0;
        String importance = null;
        if (o.method().equals("subclone")) {
            for (String k : o.set().keySet()) {
                if (!Set.of("num_hidden_layers", "hidden_size", "intermediate_size").contains(k)) {
                    throw new UsageException("--set " + k + ": subcloning narrows num_hidden_layers, hidden_size and intermediate_size (rule: SubcloneDims)");
                }
            }
            student.put("head_dim", headDim);
            SubclonePlan.Importance imp = Subcloning.importance(job.jsc(), job.conf(), teacher, config.path("num_hidden_layers").asInt(),
                    config.path("hidden_size").asLong(), o.activations(), hconf);
            importance = imp.source();
            int[] keep = SubclonePlan.keptLayers(config.path("num_hidden_layers").asInt(), student.path("num_hidden_layers").asInt());
            plans.addAll(SubclonePlan.plan(teacher, student, imp, keep, o.scale()));
            console.printf("[shrink] subcloning: importance from %s; teacher layers kept %s%n", importance, Arrays.toString(keep));
        } else if (o.method().equals("select")) {
            for (DecoderArchitecture.Tensor t : DecoderArchitecture.tensors(student, "the student config")) {
                TensorInfo src = teacher.tensor(t.name());
                if (src == null) throw new UsageException(teacher.root() + ": the student's '" + t.name() + "' is not in the teacher (rule: SelectedKeyExists)");
                long[] s = t.shape(), d = src.shape();
                if (s.length != d.length) throw new UsageException(src.file() + ": '" + t.name() + "' is " + src.shapeString() + " in the teacher, rank " + s.length + " in the student (rule: SameRank)");
                for (int k = 0; k < s.length; k++) {
                    if (s[k] > d[k]) throw new UsageException(src.file() + ": '" + t.name() + "' " + Arrays.toString(s) + " is larger than the teacher's " + src.shapeString() + " (rule: StudentNotLarger)");
                }
                if (Arrays.equals(s, d)) {
                    plans.add(new TransformPlanner.Planned(src, "copy", KeepAction.INSTANCE, "same shape as in the teacher", src.dtype()));
                    copied++;
                } else {
                    plans.add(TransformPlanner.Planned.computed(t.name(), src.dtype(), s, "select", new StridedSelectionAction(src, s),
                            "uniform selection from " + src.shapeString()));
                }
            }
        } else {
            throw new UsageException("--method must be select (weight selection) or subclone");
        }
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), ModelWriter.jobMetadata("shrink"), o.teacher(), null, student);
        console.printf("[shrink] %s -> %d tensors (%d selected, %d copied) in %d shard(s)%n", teacher.root(), plans.size(), plans.size() - copied, copied,
                model.plan().shards().size());
        job.output(o.out(), JobRun.Output.REQUIRED, "where the student checkpoint goes", o.overwrite());
        String imp = importance;
        return job.commitAfter("the student checkpoint", () -> {
            ModelWriter.write(job, model);
            Map<String, Object> run = job.facts();
            run.put("teacher", teacher.root());
            run.put("method", o.method().equals("subclone") ? "subcloning: importance rankings, layers spread, sqrt(D/d) scaling" + (o.scale() ? "" : " off")
                    : "weight selection, uniform: index floor(i*D/S) per dimension, first-N layers");
            if (imp != null) run.put("importance", imp);
            run.put("set", o.set());
            run.put("seconds", job.seconds());
            ModelWriter.writeProvenance(job.staged(), run, "tensors", ModelWriter.planRows(plans));
            console.printf("[shrink] wrote %s in %.1f s%n", o.out(), job.seconds());
            return run;
        });
    }
}
