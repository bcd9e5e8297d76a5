package io.weightlab.jobs.weights;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.AdapterFiles;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import io.weightlab.jobs.spark.OutputNames;
import io.weightlab.jobs.spark.ProgressReporter;

import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.RawDoubles;
import io.weightlab.common.commit.CompletionMarker;
import io.weightlab.common.commit.ResumeKey;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.RandomizedSvd;
import io.weightlab.common.lora.ActivationStats;
import io.weightlab.common.lora.EvaInitializer;
import io.weightlab.common.lora.FactorFiles;
import io.weightlab.common.lora.LoraSbInitializer;
import io.weightlab.common.lora.ModuleData;
import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.LoraInitializer;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.LoraRegistry;
import io.weightlab.common.lora.LoraTargets;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.lora.ResidualPlan;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.bytedeco.javacpp.FloatPointer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.SparkContext;
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
    private static final String WHAT = "where the adapter (and the residual base) go";

    public record Options(String input, String out, boolean overwrite, String method, int r, double alpha, boolean rslora,
                          List<String> targetModules, Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
                          long seed, long maxShardBytes, String taskType, Map<String, String> initParams, String gradients,
                          String activations, SpectrumRank energyRank, TensorContext.Layout layout, boolean resume) implements Serializable {
        public Options {
            initParams = initParams == null ? Map.of() : Map.copyOf(initParams);
        }
    }

    /**
     * Ranks from a spectrum job's singular values, under a total-rank budget (null: r × modules): {@code --rank-by-energy E}
     * ({@code mpSpikes} false) or {@code --rank-by mp-spikes} (the spikes above the MP bulk edge; energy unused).
     */
    public record SpectrumRank(boolean mpSpikes, double energy, String spectrum, Integer budget) implements Serializable {
        String what() {
            return mpSpikes ? "MP spikes" : String.format("energy %.4g", energy);
        }
    }

    public record Result(List<LoraModule> modules, Map<String, String> notes, boolean residual, Map<String, Object> run) {}

    private record FactorTask(LoraModule module, String method, Map<String, String> params, TensorInfo gradient, String file, String marker, long seed)
            implements Serializable {}

    /** What the factor pass produced: the modules that keep an adapter, their factor files, notes, and config patterns. */
    private record Factored(List<LoraModule> modules, Map<String, String> files, Map<String, String> notes,
                            Map<String, Integer> rankPattern, Map<String, Double> alphaPattern, List<String> targets) {}

    private record EvaTask(String source, int n, int k, String file) implements Serializable {}

    private record EvaResult(String source, double[] ratios, double[] variances, long count) implements Serializable {}

    private LoraInitJob() {}

    public static Result run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, WHAT);
        LoraInitializer init = LoraRegistry.create(o.method(), o.initParams());
        try (JobRun run = JobRun.start("lora-init", sc, console)) {
            return run(run, init, o);
        }
    }

    private static Result run(JobRun job, LoraInitializer init, Options o) {
        PrintStream console = job.console();
        JavaSparkContext jsc = job.jsc();
        Configuration hconf = job.hadoop();
        Checkpoint ckpt = CheckpointCatalog.open(hconf, o.input());
        boolean conv1d = (o.layout() != null ? o.layout() : CheckpointSiblings.layout(hconf, o.input())) == TensorContext.Layout.CONV1D;
        if (conv1d && o.method().equals("olora")) throw new UsageException("olora does not support Conv1D (fan_in_fan_out) weights, as in PEFT");
        Map<String, Integer> rankPattern = o.rankPattern();
        List<LoraModule> modules = LoraTargets.resolve(ckpt.tensors(), o.targetModules(), o.r(), o.alpha(), o.rslora(), rankPattern, o.alphaPattern(), conv1d);
        if (o.energyRank() != null) {
            if (rankPattern != null) throw new UsageException((o.energyRank().mpSpikes() ? "--rank-by mp-spikes" : "--rank-by-energy")
                    + " chooses every module's rank; it cannot be combined with --rank-pattern");
            rankPattern = energyRanks(hconf, o.energyRank(), modules, o.r());
            modules = LoraTargets.resolve(ckpt.tensors(), o.targetModules(), o.r(), o.alpha(), o.rslora(), rankPattern, o.alphaPattern(), conv1d);
            int total = 0;
            for (LoraModule m : modules) total += m.r();
            console.printf("[lora-init] ranks by %s of %s: %d in total over %d modules%n", o.energyRank().what(), o.energyRank().spectrum(), total, modules.size());
        }
        console.printf("[lora-init] %s: %s on %d module(s) of %d tensors%n", ckpt.root(), o.method(), modules.size(), ckpt.tensors().size());
        StagedOutput staged = job.output(o.out(), JobRun.Output.REQUIRED, WHAT, o.overwrite(),
                o.resume() ? resumeKey(hconf, ckpt, modules, rankPattern, o, conv1d) : null);
        Broadcast<SerializableConfiguration> conf = job.conf();
        List<LoraModule> targets = modules;
        Map<String, Integer> ranks = rankPattern;
        Result res = job.commitAfter("the adapter", () -> {
            // one task per matrix, largest first
            ProgressReporter factorProgress = job.progress(targets.stream().mapToLong(m -> m.weight().byteLength())
                    .boxed().sorted(java.util.Comparator.reverseOrder()).mapToLong(Long::longValue).toArray());
            Factored fx = init instanceof EvaInitializer eva
                    ? evaFactors(jsc, conf, staged, eva, targets, o)
                    : weightFactors(jsc, conf, staged, init, targets, ranks, o, hconf, console);
            job.endProgress(factorProgress);
            List<LoraModule> kept = fx.modules();
            Map<String, String> files = fx.files();
            Map<String, String> notes = fx.notes();
            long tFactors = System.nanoTime();

            // One executor streams every module's factors into the adapter file; the driver never holds them.
            AdapterFiles.writeWeights(job, ADAPTER, kept, files);
            boolean residual = init.changesBase();
            String base = residual ? staged.finalPath(RESIDUAL.substring(0, RESIDUAL.length() - 1)).toString() : ckpt.root();
            if (base.startsWith("file:")) base = new Path(base).toUri().getPath(); // a plain path, as transformers expects
            staged.writeString(ADAPTER + PeftAdapterWriter.CONFIG, PeftAdapterWriter.configJson(new PeftAdapterWriter.Settings(
                    base, o.r(), o.alpha(), o.rslora(), fx.rankPattern(), fx.alphaPattern(), o.taskType(), fx.targets(), conv1d)));
            if (residual) writeResidual(job, ckpt, kept, files, o);
            Map<String, Object> run = job.facts();
            run.put("input", ckpt.root());
            run.put("method", o.method());
            run.put("r", o.r());
            run.put("lora_alpha", o.alpha());
            run.put("use_rslora", o.rslora());
            run.put("seed", o.seed());
            run.put("modules", kept.size());
            if (!o.initParams().isEmpty()) run.put("init_params", new TreeMap<>(o.initParams()));
            if (o.gradients() != null) run.put("gradients", o.gradients());
            if (o.activations() != null) run.put("activations", o.activations());
            if (init instanceof LoraSbInitializer sb) run.put("eta", sb.eta());
            run.put("residual_written", residual);
            run.put("seconds_factors", job.secondsAt(tFactors));
            run.put("seconds", job.seconds());
            List<Map<String, Object>> rows = new ArrayList<>();
            for (LoraModule m : kept) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("module", m.module());
                row.put("shape", m.weight().shapeList());
                row.put("r", m.r());
                row.put("lora_alpha", m.alpha());
                row.put("scaling", m.scaling());
                row.put("note", notes.get(m.module()));
                rows.add(row);
            }
            ModelWriter.writeProvenance(staged, run, "modules", rows);
            return new Result(kept, notes, residual, run);
        });
        console.printf("[lora-init] adapter (%d modules) %sin %.1f s: %s%n", res.modules().size(), res.residual() ? "and residual base " : "",
                (double) res.run().get("seconds"), o.out());
        return res;
    }

    /** Each module's rank from its full spectrum in a spectrum job's singular_values.json (streamed; only targeted names kept). */
    private static Map<String, Integer> energyRanks(Configuration conf, SpectrumRank e, List<LoraModule> modules, int r) {
        Path p = new Path(e.spectrum());
        Map<String, LoraModule> byWeight = new HashMap<>();
        for (LoraModule m : modules) byWeight.put(m.weight().name(), m);
        Map<String, double[]> found = new HashMap<>();
        try {
            FileSystem fs = p.getFileSystem(conf);
            if (fs.getFileStatus(p).isDirectory()) p = new Path(p, OutputNames.SINGULAR_VALUES);
            try (java.io.InputStream in = fs.open(p); com.fasterxml.jackson.core.JsonParser jp = new com.fasterxml.jackson.core.JsonFactory().createParser(in)) {
                if (jp.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) throw new UsageException(p + ": not a JSON object of singular values");
                while (jp.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                    String name = jp.currentName();
                    jp.nextToken();
                    if (!byWeight.containsKey(name)) {
                        jp.skipChildren();
                        continue;
                    }
                    List<Double> v = new ArrayList<>();
                    while (jp.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) v.add(jp.getDoubleValue());
                    found.put(name, v.stream().mapToDouble(Double::doubleValue).toArray());
                }
            }
        } catch (java.io.FileNotFoundException ex) {
            throw new UsageException(e.spectrum() + ": no such spectrum output (run `weightlab spectrum` on the base first)");
        } catch (IOException ex) {
            throw new UsageException(p + ": cannot read singular values: " + ex.getMessage());
        }
        Map<String, double[]> spectra = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (LoraModule m : modules) {
            double[] sv = found.get(m.weight().name());
            int full = Math.min(m.out(), m.in());
            if (sv == null || sv.length != full) {
                throw new UsageException(p + ": " + (sv == null ? "no singular values for '" + m.weight().name() + "'"
                        : "'" + m.weight().name() + "' has " + sv.length + " of its " + full + " singular values (a partial spectrum has no total energy;"
                        + " run spectrum with the exact method)") + " (rule: FullSpectrum)");
            }
            spectra.put(m.module(), sv);
            shapes.put(m.module(), new int[] {m.out(), m.in()});
        }
        int budget = e.budget() != null ? e.budget() : r * modules.size();
        Map<String, Integer> ranks = e.mpSpikes() ? io.weightlab.common.lora.MpSpikeRanks.choose(spectra, shapes, budget)
                : io.weightlab.common.lora.EnergyRanks.choose(spectra, e.energy(), budget);
        return ranks;
    }

    /** On an executor: one whole matrix in double, its factors, written to the scratch file. Returns the note. */
    private static String factor(FactorTask t, Configuration conf) throws IOException {
        LoraModule m = t.module();
        TensorInfo w = m.weight();
        LoraInitializer init = LoraRegistry.create(t.method(), t.params());
        LoraFactors f;
        if (init.needsWeight() && init.float32Weight() && t.gradient() == null && !m.fanInFanOut() && TensorValues.exactInFloat32(w.dtype())) {
            // stored bytes straight to an off-heap float32 matrix: no double copy (8 bytes a value) of a big W
            try (RangeReader reader = new RangeReader(conf)) {
                FloatPointer wf = floatScratch(w.elementCount());
                if (TensorValues.readFloat32(reader, w, wf) >= 0) throw LoraModule.nonFinite(w);
                f = init.init(ModuleData.ofFloat32(wf, m.out(), m.in()), m.r(), m.scaling(), t.seed());
            }
        } else {
            double[] weight = null, gradient = null;
            try (RangeReader reader = new RangeReader(conf)) {
                if (init.needsWeight()) weight = m.linearOrder(LoraModule.readFinite(reader, w));
                if (t.gradient() != null) gradient = m.linearOrder(LoraModule.readFinite(reader, t.gradient()));
            }
            f = init.init(new ModuleData(m.out(), m.in(), weight, gradient), m.r(), m.scaling(), t.seed());
        }
        Path p = new Path(t.file());
        FileSystem fs = p.getFileSystem(conf);
        try (FSDataOutputStream os = fs.create(p, true)) {
            FactorFiles.write(os, f);
        }
        CompletionMarker.write(conf, t.marker(), f.note(), t.file()); // last: a --resume run keeps the factors
        return f.note();
    }

    /**
     * Per task thread, the off-heap float32 buffer of the largest matrix it has factored, reused by its next tasks: fresh
     * native pages cost 20 ms per 46 MB of first touch (as much as reading the matrix). Memory: that one matrix per slot.
     */
    private static final ThreadLocal<FloatPointer> FLOAT_SCRATCH = new ThreadLocal<>();

    private static FloatPointer floatScratch(long n) {
        FloatPointer p = FLOAT_SCRATCH.get();
        if (p == null || p.capacity() < n) {
            if (p != null) p.close();
            p = new FloatPointer(n);
            FLOAT_SCRATCH.set(p);
        }
        return p.position(0);
    }

    /** Everything the factors, adapter and residual depend on: base and gradient files, modules with their ranks, method, seed. */
    private static String resumeKey(Configuration conf, Checkpoint ckpt, List<LoraModule> modules, Map<String, Integer> rankPattern, Options o,
                                    boolean conv1d) {
        ResumeKey k = ResumeKey.of(conf, "lora-init").checkpoint(ckpt)
                .checkpoint(o.gradients() == null ? null : CheckpointCatalog.open(conf, o.gradients()))
                .checkpoint(o.activations() == null ? null : CheckpointCatalog.open(conf, o.activations()));
        for (LoraModule m : modules) k.add(m.module() + " " + m.r() + " " + m.alpha() + " " + m.scaling());
        return k.add(o.method()).add(new TreeMap<>(o.initParams())).add(rankPattern).add(o.alphaPattern()).add(o.r()).add(o.alpha())
                .add(o.rslora()).add(o.seed()).add(o.maxShardBytes()).add(o.taskType()).add(o.targetModules()).add(conv1d).hash();
    }

    private static Factored weightFactors(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, StagedOutput staged,
                                          LoraInitializer init, List<LoraModule> modules, Map<String, Integer> rankPattern, Options o,
                                          Configuration hconf, PrintStream console) {
        Checkpoint grads = null;
        if (init.needsGradient()) {
            if (o.gradients() == null) {
                throw new UsageException(o.method() + " initialises from gradients: --gradients <safetensors with the base's tensor names> is required"
                        + " (`tools/weightlab_collect.py gradients` writes it)");
            }
            grads = CheckpointCatalog.open(hconf, o.gradients());
        }
        List<FactorTask> tasks = new ArrayList<>();
        Map<String, String> files = new HashMap<>();
        Map<String, String> notes = new TreeMap<>();
        int i = 0;
        for (LoraModule m : modules) {
            String rel = "factors/" + (i++) + ".f32";
            String f = staged.scratch(rel).toString();
            files.put(m.module(), f);
            TensorInfo g = grads == null ? null : gradientOf(grads, m);
            String done = CompletionMarker.read(staged, StagedOutput.SCRATCH + rel, String.class, -1);
            if (done != null) notes.put(m.module(), done); // factored by the run this one took over
            else tasks.add(new FactorTask(m, o.method(), o.initParams(), g, f, staged.completionMarker(StagedOutput.SCRATCH + rel).toString(),
                    RandomizedSvd.seedFor(o.seed(), m.module())));
        }
        if (!notes.isEmpty()) console.printf("[lora-init] resuming: %d of %d module(s) were factored by the previous run%n", notes.size(), modules.size());
        tasks.sort((a, b) -> Long.compare(b.module().weight().elementCount(), a.module().weight().elementCount()));
        if (!tasks.isEmpty()) {
            notes.putAll(jsc.parallelize(tasks, tasks.size())
                    .mapToPair(t -> new Tuple2<>(t.module().module(), factor(t, conf.value().get())))
                    .collectAsMap());
        }
        return new Factored(modules, files, notes, rankPattern, o.alphaPattern(), o.targetModules());
    }

    private static TensorInfo gradientOf(Checkpoint grads, LoraModule m) {
        TensorInfo g = grads.tensor(m.weight().name());
        if (g == null) {
            throw new UsageException(grads.root() + ": no gradient for '" + m.weight().name() + "' (the gradient file must use the base's tensor names;"
                    + " rule: GradientPresent)");
        }
        if (!java.util.Arrays.equals(g.shape(), m.weight().shape())) {
            throw new UsageException(g.file() + ": gradient '" + g.name() + "' has shape " + g.shapeString() + " but the weight is "
                    + m.weight().shapeString() + " (rule: GradientShape)");
        }
        if (!g.dtype().isFloatingPoint()) throw new UsageException(g.file() + ": gradient '" + g.name() + "' is " + g.dtype() + ", not floating point");
        return g;
    }

    /**
     * EVA: one task per distinct input (modules sharing an input share one decomposition) writes its top components
     * to scratch and returns their explained-variance ratios; the driver redistributes ranks; one task per module
     * that keeps an adapter cuts its A from the components.
     */
    private static Factored evaFactors(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, StagedOutput staged,
                                       EvaInitializer eva, List<LoraModule> modules, Options o) {
        if (o.activations() == null) {
            throw new UsageException("eva initialises from input activations: --activations <statistics safetensors> is required"
                    + " (`tools/weightlab_collect.py activations` writes it; layout in docs/activation-stats.md)");
        }
        if (o.rslora() || o.alphaPattern() != null) {
            throw new UsageException("eva rewrites rank_pattern and alpha_pattern itself; it cannot be combined with --use-rslora or --alpha-pattern");
        }
        Checkpoint stats = CheckpointCatalog.open(jsc.hadoopConfiguration(), o.activations());
        Map<String, String> shared = ActivationStats.sharedInputs(stats);
        Map<String, EvaTask> bySource = new LinkedHashMap<>();
        int i = 0;
        for (LoraModule m : modules) {
            String src = ActivationStats.source(shared, m.module());
            int k = eva.offered(m.r(), m.in());
            EvaTask prev = bySource.get(src);
            if (prev != null && prev.n() != m.in()) {
                throw new UsageException(o.activations() + ": modules sharing the input of '" + src + "' have different input sizes (rule: ActivationStatsShape)");
            }
            ActivationStats.validate(stats, src, m.in());
            String file = prev != null ? prev.file() : staged.scratch("eva/" + (i++) + ".f64").toString();
            bySource.put(src, new EvaTask(src, m.in(), Math.max(k, prev == null ? 0 : prev.k()), file));
        }
        Broadcast<Checkpoint> statsB = jsc.broadcast(stats);
        Map<String, EvaResult> results = new HashMap<>(jsc.parallelize(new ArrayList<>(bySource.values()), Math.max(1, bySource.size()))
                .mapToPair(t -> new Tuple2<>(t.source(), decompose(t, statsB.value(), conf.value().get())))
                .collectAsMap());
        statsB.destroy();

        Map<String, double[]> ratios = new LinkedHashMap<>();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        for (LoraModule m : modules) {
            EvaResult res = results.get(ActivationStats.source(shared, m.module()));
            ratios.put(m.module(), java.util.Arrays.copyOf(res.ratios(), Math.min(res.ratios().length, eva.offered(m.r(), m.in()))));
            ranks.put(m.module(), m.r());
        }
        Map<String, Integer> newRanks = EvaInitializer.redistribute(ratios, ranks);
        List<LoraModule> kept = new ArrayList<>();
        Map<String, Integer> rankPattern = new TreeMap<>();
        Map<String, Double> alphaPattern = new TreeMap<>();
        Map<String, String> files = new HashMap<>();
        List<String> targets = new ArrayList<>();
        List<Tuple2<LoraModule, String>> cut = new ArrayList<>();
        for (LoraModule m : modules) {
            int r = newRanks.get(m.module());
            double alpha = eva.adjustScaling() ? m.alpha() * r / m.r() : m.alpha();
            if (r == 0) continue; // dropped from target_modules; PEFT's eva leaves it out of the patterns too
            rankPattern.put(m.module(), r);
            alphaPattern.put(m.module(), alpha);
            LoraModule nm = m.withRank(r, alpha);
            kept.add(nm);
            targets.add(m.module());
            String f = staged.scratch("factors/" + kept.size() + ".f32").toString();
            files.put(m.module(), f);
            cut.add(new Tuple2<>(nm, bySource.get(ActivationStats.source(shared, m.module())).file()));
        }
        if (kept.isEmpty()) throw new UsageException("eva: no module kept a rank");
        Map<String, Integer> offered = new HashMap<>();
        for (EvaTask t : bySource.values()) offered.put(t.source(), t.k());
        Map<String, String> notes = new TreeMap<>(jsc.parallelize(cut, Math.max(1, cut.size())).mapToPair(t -> {
            LoraModule m = t._1();
            String src = ActivationStats.source(shared, m.module());
            EvaResult res = results.get(src);
            Configuration c = conf.value().get();
            double[] comps;
            try (RangeReader reader = new RangeReader(c)) {
                comps = new double[m.r() * m.in()];
                RawDoubles.read(reader, t._2(), 0, comps.length, comps, 0);
            }
            EvaInitializer.Decomposition d = new EvaInitializer.Decomposition(comps, res.variances(), res.ratios(), res.count(), m.r(), m.in());
            LoraFactors f = eva.factors(d, m.r(), m.out());
            Path p = new Path(files.get(m.module()));
            try (FSDataOutputStream os = p.getFileSystem(c).create(p, true)) {
                FactorFiles.write(os, f);
            }
            return new Tuple2<>(m.module(), f.note() + (src.equals(m.module()) ? "" : " (input shared with " + src + ")"));
        }).collectAsMap());
        for (LoraModule m : modules) notes.putIfAbsent(m.module(), "eva r=0: adapter dropped");
        return new Factored(kept, files, notes, rankPattern, alphaPattern, targets);
    }

    private static EvaResult decompose(EvaTask t, Checkpoint stats, Configuration conf) throws IOException {
        ActivationStats s;
        try (RangeReader reader = new RangeReader(conf)) {
            s = ActivationStats.read(reader, stats, t.source(), t.n());
        }
        EvaInitializer.Decomposition d = EvaInitializer.decompose(s, t.k());
        Path p = new Path(t.file());
        try (FSDataOutputStream os = p.getFileSystem(conf).create(p, true)) {
            RawDoubles.write(os, d.components());
        }
        return new EvaResult(t.source(), d.ratios(), d.variances(), d.count());
    }

    /** The residual base W - s·B·A into residual/, with the base's config and tokenizer files. */
    private static void writeResidual(JobRun job, Checkpoint ckpt, List<LoraModule> modules, Map<String, String> files, Options o) {
        Map<String, LoraModule> byTensor = new HashMap<>();
        for (LoraModule m : modules) byTensor.put(m.weight().name(), m);
        List<TransformPlanner.Planned> plans = ResidualPlan.of(ckpt.tensors(), ckpt.root(), byTensor, files, true, "lora-init " + o.method(), "W - s B A");
        Map<String, String> md = new TreeMap<>();
        md.put("format", "pt");
        md.put("weightlab.job", "lora-init");
        md.put("weightlab.lora", o.method() + " r=" + o.r() + " alpha=" + o.alpha() + (o.rslora() ? " rslora" : "") + " seed=" + o.seed());
        ModelWriter.write(job, ModelWriter.Model.of(RESIDUAL, plans, o.maxShardBytes(), md, o.input(), null, null));
    }
}
