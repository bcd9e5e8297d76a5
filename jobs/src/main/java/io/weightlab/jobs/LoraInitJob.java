package io.weightlab.jobs;

import io.weightlab.common.init.KeepAction;
import io.weightlab.common.init.TransformPlanner;
import io.weightlab.common.init.TransformedShardWriter;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.ShardPlan;
import io.weightlab.common.io.StagedOutput;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.io.UsageException;
import io.weightlab.common.io.WeightLabException;
import io.weightlab.common.linalg.RandomizedSvd;
import io.weightlab.common.lora.FactorFiles;
import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.LoraInitializer;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.LoraRegistry;
import io.weightlab.common.lora.LoraTargets;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.lora.ResidualAction;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code weightlab lora-init}: LoRA adapters initialised from the base weights (PiSSA, MiLoRA, OLoRA, MiCA, plain),
 * in PEFT's format, plus the residual base W − s·B·A for methods that change it. One task per targeted matrix
 * decomposes it (LAPACK, double) and writes its factors to a scratch file; one more task streams those into
 * {@code adapter/adapter_model.safetensors}; the residual goes through the shard writer into {@code residual/}.
 */
public final class LoraInitJob {
    public static final String ADAPTER = "adapter/";
    public static final String RESIDUAL = "residual/";

    public record Options(String input, String out, boolean overwrite, String method, int r, double alpha, boolean rslora,
                          List<String> targetModules, Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
                          long seed, long maxShardBytes, String taskType) implements Serializable {}

    public record Result(List<LoraModule> modules, Map<String, String> notes, boolean residual, Map<String, Object> run) {}

    private record FactorTask(LoraModule module, String method, String file, long seed) implements Serializable {}

    private LoraInitJob() {}

    public static Result run(SparkSession spark, Options o, PrintStream console) {
        long t0 = System.nanoTime();
        if (o.out() == null) throw new UsageException("--out is required");
        LoraInitializer init = LoraRegistry.create(o.method());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hconf = jsc.hadoopConfiguration();
        Checkpoint ckpt = CheckpointCatalog.open(hconf, o.input());
        List<LoraModule> modules = LoraTargets.resolve(ckpt.tensors(), o.targetModules(), o.r(), o.alpha(), o.rslora(), o.rankPattern(), o.alphaPattern());
        console.printf("[lora-init] %s: %s on %d module(s) of %d tensors%n", ckpt.root(), o.method(), modules.size(), ckpt.tensors().size());
        StagedOutput staged = StagedOutput.begin(hconf, o.out(), o.overwrite());
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hconf));
        try {
            List<FactorTask> tasks = new ArrayList<>();
            Map<String, String> files = new HashMap<>();
            int i = 0;
            for (LoraModule m : modules) {
                String f = staged.scratch("factors/" + (i++) + ".f32").toString();
                files.put(m.module(), f);
                tasks.add(new FactorTask(m, o.method(), f, RandomizedSvd.seedFor(o.seed(), m.module())));
            }
            tasks.sort((a, b) -> Long.compare(b.module().weight().elementCount(), a.module().weight().elementCount()));
            Map<String, String> notes = new TreeMap<>(jsc.parallelize(tasks, Math.max(1, tasks.size()))
                    .mapToPair(t -> new Tuple2<>(t.module().module(), factor(t, conf.value().get())))
                    .collectAsMap());
            long tFactors = System.nanoTime();

            // One executor streams every module's factors into the adapter file; the driver never holds them.
            String adapterPath = staged.staged(ADAPTER + PeftAdapterWriter.WEIGHTS).toString();
            jsc.parallelize(List.of(adapterPath), 1).foreach(path -> writeAdapter(path, modules, files, conf.value().get()));
            boolean residual = init.changesBase();
            String base = residual ? staged.finalPath(RESIDUAL.substring(0, RESIDUAL.length() - 1)).toString() : ckpt.root();
            if (base.startsWith("file:")) base = new Path(base).toUri().getPath(); // a plain path, as transformers expects
            staged.writeString(ADAPTER + PeftAdapterWriter.CONFIG, PeftAdapterWriter.configJson(new PeftAdapterWriter.Settings(
                    base, o.r(), o.alpha(), o.rslora(), o.rankPattern(), o.alphaPattern(), o.taskType(), o.targetModules())));
            if (residual) writeResidual(jsc, conf, staged, ckpt, modules, files, o, hconf);
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("job", "lora-init");
            run.put("input", ckpt.root());
            run.put("method", o.method());
            run.put("r", o.r());
            run.put("lora_alpha", o.alpha());
            run.put("use_rslora", o.rslora());
            run.put("seed", o.seed());
            run.put("modules", modules.size());
            run.put("residual_written", residual);
            run.put("seconds_factors", (tFactors - t0) / 1e9);
            run.put("seconds", (System.nanoTime() - t0) / 1e9);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (LoraModule m : modules) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("module", m.module());
                row.put("shape", m.weight().shape());
                row.put("r", m.r());
                row.put("lora_alpha", m.alpha());
                row.put("scaling", m.scaling());
                row.put("note", notes.get(m.module()));
                rows.add(row);
            }
            try (FSDataOutputStream os = staged.create(RescaleJob.PROVENANCE)) {
                Tables.writeJson(os, Map.of("run", run, "modules", rows));
            }
            staged.commit();
            console.printf("[lora-init] adapter (%d modules) %sin %.1f s: %s%n", modules.size(), residual ? "and residual base " : "",
                    (double) run.get("seconds"), o.out());
            return new Result(modules, notes, residual, run);
        } catch (IOException e) {
            staged.abort();
            throw new WeightLabException(o.out() + ": writing the adapter failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            staged.abort();
            throw e;
        } finally {
            conf.destroy();
        }
    }

    /** On an executor: one whole matrix in double, its factors, written to the scratch file. Returns the note. */
    private static String factor(FactorTask t, Configuration conf) throws IOException {
        LoraModule m = t.module();
        TensorInfo w = m.weight();
        double[] values;
        try (RangeReader reader = new RangeReader(conf)) {
            values = TensorValues.read(reader, w, 0, w.elementCount(), null);
        }
        for (double v : values) {
            if (!Double.isFinite(v)) {
                throw new UsageException(w.file() + ": '" + w.name() + "' holds NaN/Inf; a decomposition of it is meaningless (rule: FiniteValues)");
            }
        }
        LoraFactors f = LoraRegistry.create(t.method()).init(values, m.out(), m.in(), m.r(), m.scaling(), t.seed());
        Path p = new Path(t.file());
        FileSystem fs = p.getFileSystem(conf);
        try (FSDataOutputStream os = fs.create(p, true)) {
            FactorFiles.write(os, f);
        }
        return f.note();
    }

    private static void writeAdapter(String path, List<LoraModule> modules, Map<String, String> files, Configuration conf) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        fs.setWriteChecksum(false);
        try (FSDataOutputStream os = fs.create(p, true); RangeReader reader = new RangeReader(conf)) {
            PeftAdapterWriter.writeWeights(os, modules, files, reader);
        }
    }

    private static void writeResidual(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, StagedOutput staged, Checkpoint ckpt,
                                      List<LoraModule> modules, Map<String, String> files, Options o, Configuration hconf) {
        Map<String, LoraModule> byTensor = new HashMap<>();
        for (LoraModule m : modules) byTensor.put(m.weight().name(), m);
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        for (TensorInfo t : ckpt.tensors()) {
            LoraModule m = byTensor.get(t.name());
            if (m == null) {
                plans.add(new TransformPlanner.Planned(t, null, KeepAction.INSTANCE, "not targeted", t.dtype()));
            } else {
                plans.add(new TransformPlanner.Planned(t, "lora-init " + o.method(),
                        new ResidualAction(files.get(m.module()), m.scaling(), m.r(), m.in(), m.out()), "W - s B A", t.dtype()));
            }
        }
        ShardPlan plan = WeightWriter.shardPlan(plans, o.maxShardBytes());
        Map<String, String> md = new TreeMap<>();
        md.put("format", "pt");
        md.put("weightlab.job", "lora-init");
        md.put("weightlab.lora", o.method() + " r=" + o.r() + " alpha=" + o.alpha() + (o.rslora() ? " rslora" : "") + " seed=" + o.seed());
        WeightWriter.write(jsc, conf, staged, RESIDUAL, plan, plans, md);
        CheckpointSiblings.copy(hconf, o.input(), staged, RESIDUAL, null);
        WeightWriter.writeIndex(staged, RESIDUAL, plan);
    }
}
