package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.merge.LayerStack;
import io.weightlab.common.merge.MergeRecipe;
import io.weightlab.common.model.DType;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import org.apache.hadoop.conf.Configuration;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code merge} with {@code merge_method: passthrough} over {@code slices:}: layer ranges of models stacked into a
 * deeper model ({@link LayerStack}), every tensor copied (times its scale) by the shard writer's tasks; config.json from
 * the first slice's model with num_hidden_layers set to the stacked count, tokenizer files beside it.
 */
final class LayerStacking {
    private LayerStacking() {}

    static Map<String, Object> run(JobRun run, MergeJob.Options o, MergeRecipe recipe, String what) {
        Configuration hconf = run.hadoop();
        Map<String, Checkpoint> models = new LinkedHashMap<>();
        for (MergeRecipe.Model m : recipe.stack()) models.computeIfAbsent(m.uri(), u -> CheckpointCatalog.open(hconf, u));
        List<LayerStack.Piece> pieces = LayerStack.plan(recipe, models);
        DType outDType = o.outDType() != null ? o.outDType() : recipe.outDType() != null ? recipe.outDType() : recipe.dtype();
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        for (LayerStack.Piece p : pieces) {
            if (!p.source().dtype().isFloatingPoint()) {
                throw new UsageException(p.source().file() + ": '" + p.source().name() + "' is " + p.source().dtype() + ": passthrough stacks floating-point tensors only");
            }
            DType dt = outDType != null ? outDType : p.source().dtype();
            plans.add(TransformPlanner.Planned.computed(p.name(), dt, p.source().shape(), "passthrough", new LayerStack.CopyAction(p.source(), p.scale()), p.why()));
        }
        String first = recipe.stack().get(0).uri();
        ObjectNode config = CheckpointSiblings.modelConfig(hconf, first);
        int layers = LayerStack.layers(recipe);
        config.put("num_hidden_layers", layers);
        Map<String, String> md = new TreeMap<>(ModelWriter.jobMetadata("merge"));
        md.put("weightlab.merge_method", "passthrough");
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), md, first, outDType, config);
        run.console().printf("[merge] %s: passthrough of %d slice(s) from %d model(s): %d layer(s), %d tensor(s)%n", recipe.source(), recipe.stack().size(),
                models.size(), layers, plans.size());
        run.output(o.out(), JobRun.Output.REQUIRED, what, o.overwrite());
        return run.commitAfter("the stacked checkpoint", () -> {
            ModelWriter.Written written = ModelWriter.write(run, model);
            Map<String, Object> facts = run.facts();
            facts.put("recipe", recipe.source());
            facts.put("merge_method", "passthrough");
            facts.put("models", new ArrayList<>(models.keySet()));
            List<Map<String, Object>> slices = new ArrayList<>();
            for (MergeRecipe.Model s : recipe.stack()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("model", s.uri());
                row.put("layer_range", List.of(s.layerRange()[0], s.layerRange()[1]));
                slices.add(row);
            }
            facts.put("slices", slices);
            facts.put("layers", layers);
            facts.put("out_dtype", outDType == null ? "as stored" : outDType.name());
            facts.put("seconds", run.seconds());
            facts.put("bytes_out", written.bytes());
            List<Map<String, Object>> rows = new ArrayList<>();
            for (LayerStack.Piece p : pieces) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("name", p.name());
                r.put("method", "passthrough");
                r.put("parameters", Map.of("scale", p.scale()));
                r.put("source", p.source().name());
                r.put("why", p.why());
                rows.add(r);
            }
            ModelWriter.writeProvenance(run.staged(), facts, "tensors", rows);
            MergeJob.writePage(run.staged(), "", facts, rows);
            run.console().printf("[merge] wrote %s in %d shard(s) to %s in %.1f s%n", Format.bytes(written.bytes()), written.shards().size(), o.out(), run.seconds());
            return facts;
        });
    }
}
