package io.weightlab.jobs.weights;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.optim.GradientSnr;
import io.weightlab.common.report.LrScalesReport;
import io.weightlab.common.report.Tables;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.MomentPass;
import io.weightlab.jobs.spark.ParquetTables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab lr-scales}: SGD-SaI's per-block learning rates from gradients at initialisation
 * ({@link GradientSnr}). The gradients' moments come from one distributed pass (the stats slice pass, so any size);
 * the driver holds one small row per parameter tensor. Writes the table and PyTorch parameter groups.
 */
public final class LrScalesJob {
    public static final String PARAM_GROUPS = "param_groups.json";

    public record Options(String model, String gradients, String out, boolean overwrite, double lr, double eps,
                          boolean normalizeByMax, long sliceBytes) {}

    private LrScalesJob() {}

    public static List<Map<String, Object>> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the learning-rate scales go");
        if (o.gradients() == null) throw new UsageException("--gradients is required (`tools/weightlab_collect.py gradients` writes it)");
        if (!(o.lr() > 0) || !(o.eps() > 0)) throw new UsageException("--lr and --eps must be positive");
        try (JobRun job = JobRun.start("lr-scales", sc, console)) {
            return run(job, o);
        }
    }

    private static List<Map<String, Object>> run(JobRun job, Options o) {
        Configuration hconf = job.hadoop();
        Checkpoint model = CheckpointCatalog.open(hconf, o.model());
        Checkpoint grads = CheckpointCatalog.open(hconf, o.gradients());
        List<TensorInfo> blocks = matchedGradients(model, grads);
        job.console().printf("[lr-scales] %s: %d parameter tensor(s) with gradients from %s%n", model.root(), blocks.size(), grads.root());
        StagedOutput staged = job.output(o.out(), JobRun.Output.REQUIRED, "where the learning-rate scales go", o.overwrite());
        return job.commitAfter("the learning-rate scales", () -> {
                Map<String, MomentAccumulator> moments = MomentPass.measure(job, blocks, o.sliceBytes());
                Map<String, MomentAccumulator> ordered = new LinkedHashMap<>();
                for (TensorInfo g : blocks) {
                    MomentAccumulator m = moments.get(g.name());
                    if (m.nanCount() + m.posInfCount() + m.negInfCount() > 0) {
                        throw new UsageException(g.file() + ": gradient '" + g.name() + "' holds NaN or Inf (rule: FiniteValues)");
                    }
                    ordered.put(g.name(), m);
                }
                Map<String, Map<String, Object>> scales = GradientSnr.scales(ordered, o.eps(), o.normalizeByMax());
                List<Map<String, Object>> rows = new ArrayList<>();
                List<Map<String, Object>> groups = new ArrayList<>();
                for (TensorInfo g : blocks) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("name", g.name());
                    r.put("shape", g.shapeList());
                    r.putAll(scales.get(g.name()));
                    r.put("lr", o.lr() * (double) r.get("lr_scale"));
                    rows.add(r);
                    groups.add(Map.of("params", List.of(g.name()), "lr", r.get("lr")));
                }
                Map<String, Object> run = job.facts();
                run.put("model", model.root());
                run.put("gradients", grads.root());
                run.put("lr", o.lr());
                run.put("eps", o.eps());
                run.put("normalize", o.normalizeByMax() ? "max" : "none");
                run.put("blocks", rows.size());
                run.put("seconds", job.seconds());
                run.put("finished", Instant.now().toString());
                try (FSDataOutputStream os = staged.create("lr_scales.json")) {
                    Tables.writeJson(os, Map.of("run", run, "blocks", rows));
                }
                try (FSDataOutputStream os = staged.create("lr_scales.csv")) {
                    Tables.writeCsv(os, rows);
                }
                try (FSDataOutputStream os = staged.create(PARAM_GROUPS)) {
                    Tables.writeJson(os, Map.of("optimizer", "sgd-sai", "lr", o.lr(), "groups", groups));
                }
                ParquetTables.write(job.hadoop(), rows, staged.staged("lr_scales.parquet").toString());
                try (FSDataOutputStream os = staged.create("report.html")) {
                    os.write(LrScalesReport.render(run, rows).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                return rows;
        });
    }

    /**
     * Every floating-point parameter of the model has a gradient of its shape (rules GradientPresent, GradientShape),
     * and every gradient names a parameter; blocks are returned in the model's order.
     */
    static List<TensorInfo> matchedGradients(Checkpoint model, Checkpoint grads) {
        List<TensorInfo> out = new ArrayList<>();
        for (TensorInfo p : model.tensors()) {
            if (!p.dtype().isFloatingPoint()) continue;
            TensorInfo g = grads.tensor(p.name());
            if (g == null) {
                throw new UsageException(grads.root() + ": no gradient for '" + p.name() + "' (the gradient file must use the model's tensor names;"
                        + " rule: GradientPresent)");
            }
            if (!Arrays.equals(g.shape(), p.shape())) {
                throw new UsageException(g.file() + ": gradient '" + g.name() + "' has shape " + g.shapeString() + " but the parameter is "
                        + p.shapeString() + " (rule: GradientShape)");
            }
            if (!g.dtype().isFloatingPoint()) throw new UsageException(g.file() + ": gradient '" + g.name() + "' is " + g.dtype() + ", not floating point");
            out.add(g);
        }
        for (TensorInfo g : grads.tensors()) {
            if (model.tensor(g.name()) == null) {
                throw new UsageException(g.file() + ": gradient '" + g.name() + "' names no tensor of " + model.root() + " (rule: GradientPresent)");
            }
        }
        return out;
    }
}
