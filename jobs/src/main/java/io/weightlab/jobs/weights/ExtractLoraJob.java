package io.weightlab.jobs.weights;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.lora.DeltaExtraction;
import io.weightlab.common.lora.FactorFiles;
import io.weightlab.common.lora.GramDeltaExtraction;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.LoraTargets;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.jobs.spark.AdapterFiles;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import io.weightlab.jobs.spark.ProgressReporter;
import io.weightlab.jobs.spark.SerializableConfiguration;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code weightlab extract-lora}: a fine-tune's difference from its base as a PEFT LoRA adapter (mergekit's
 * extract_lora.py semantics; docs/algorithms.md §33). One task per targeted module reads W_ft and W_base, factors
 * ΔW by a full SVD in double and keeps the top k = min(r, #{σ > ε}) triplets (or fewer, by energy) as
 * A = √σ·Vᵀ, B = U·√σ; lora_alpha equals each module's rank, so PEFT's scaling is 1 and W_base + B·A is the best
 * rank-k approximation of W_ft. Modules whose ΔW is exactly zero get no adapter. {@code --include embeddings,head}
 * adds the embeddings (PEFT's embedding LoRA) and the LM head (VocabularyModules). Memory: a task holds one module's
 * ΔW and its SVD (about 4 × out × in doubles), or for the vocabulary-long embeddings and head about 5 × hidden²
 * (GramDeltaExtraction, row slices); the driver holds headers and one row of numbers per module.
 */
public final class ExtractLoraJob {
    private static final String WHAT = "where the adapter goes";

    /** How a linear module's top r is found: the full SVD, the randomized range finder, or by size ({@link DeltaExtraction#randomizedPays}). */
    public enum Method { AUTO, EXACT, RANDOMIZED }

    /** {@code include}: embeddings and/or head besides the linear modules (none by default). */
    public record Options(String finetuned, String base, String out, boolean overwrite, int r, double energy, double epsilon,
                          List<String> targets, String taskType, Map<String, Integer> rankPattern, Set<String> include,
                          Method method, int powerIterations, long seed) implements Serializable {
        public Options(String finetuned, String base, String out, boolean overwrite, int r, double energy, double epsilon, List<String> targets, String taskType) {
            this(finetuned, base, out, overwrite, r, energy, epsilon, targets, taskType, Map.of(), Set.of());
        }

        public Options(String finetuned, String base, String out, boolean overwrite, int r, double energy, double epsilon,
                       List<String> targets, String taskType, Map<String, Integer> rankPattern) {
            this(finetuned, base, out, overwrite, r, energy, epsilon, targets, taskType, rankPattern, Set.of());
        }

        public Options(String finetuned, String base, String out, boolean overwrite, int r, double energy, double epsilon,
                       List<String> targets, String taskType, Map<String, Integer> rankPattern, Set<String> include) {
            this(finetuned, base, out, overwrite, r, energy, epsilon, targets, taskType, rankPattern, include, Method.AUTO, 4, 0);
        }
    }

    /** One module's outcome, from its task. */
    /** {@code route}: {@code svd} (the full SVD), {@code randomized} (the top r by the range finder) or {@code gram} (row slices). */
    public record ModuleResult(String module, int rank, double frobenius, double residualEnergy, double sigmaMax, double sigmaKept,
                               String file, String route) implements Serializable {}

    public record Result(List<ModuleResult> modules, Map<String, Object> run) {}

    /**
     * {@code gram}: a vocabulary-long module, factored by the Gram route in row slices rather than whole;
     * {@code randomized}: a linear module's top r by the range finder, Ω from (seed, module name).
     */
    private record Task(LoraModule module, TensorInfo base, int r, double energy, double epsilon, String file, boolean gram,
                        boolean randomized, int powerIterations, long seed) implements Serializable {}

    /** Rows of a vocabulary-long ΔW read at a time: 2^20 doubles (8 MiB) per checkpoint. */
    private static final int SLICE_ELEMENTS = 1 << 20;

    private ExtractLoraJob() {}

    public static Result run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, WHAT);
        if (o.r() < 1) throw new UsageException("--r must be at least 1, got " + o.r());
        if (!(o.energy() > 0 && o.energy() <= 1)) throw new UsageException("--rank-by-energy must be in (0, 1], got " + o.energy());
        if (!(o.epsilon() >= 0)) throw new UsageException("--sv-epsilon must be >= 0, got " + o.epsilon());
        if (o.powerIterations() < 0) throw new UsageException("--power-iterations must be >= 0, got " + o.powerIterations());
        VocabularyModules.checkNames(include(o));
        try (JobRun run = JobRun.start("extract-lora", sc, console)) {
            return run(run, o);
        }
    }

    private static Result run(JobRun job, Options o) {
        Configuration hconf = job.hadoop();
        Checkpoint ft = CheckpointCatalog.open(hconf, o.finetuned());
        Checkpoint base = CheckpointCatalog.open(hconf, o.base());
        boolean conv1d = CheckpointSiblings.layout(hconf, o.finetuned()) == TensorContext.Layout.CONV1D;
        // rank 1 here: each module's rank is known only after its SVD
        List<LoraModule> modules = new ArrayList<>(LoraTargets.resolve(ft.tensors(), o.targets(), 1, 1, false, null, null, conv1d));
        VocabularyModules.Selection vocabulary = VocabularyModules.resolve(ft.tensors(), include(o), modules, tiedEmbeddings(hconf, o.finetuned()));
        modules.addAll(vocabulary.modules());
        List<Task> tasks = new ArrayList<>();
        for (LoraModule m : modules) {
            TensorInfo b = base.tensor(m.weight().name());
            if (b == null) throw new CheckpointFormatException(base.root(), m.weight().name(), "SameTensors", "missing in the base (present in " + ft.root() + ")");
            if (!java.util.Arrays.equals(b.shape(), m.weight().shape())) {
                throw new CheckpointFormatException(m.weight().file(), m.weight().name(), "SameShape",
                        "shape " + m.weight().shapeString() + " in the fine-tune, " + b.shapeString() + " in the base " + base.root());
            }
            if (!b.dtype().isFloatingPoint()) throw new UsageException(b.file() + ": '" + b.name() + "' is " + b.dtype() + ": extract-lora needs floating-point weights");
        }
        // per-module largest rank (PEFT's rank_pattern spelling: a key matches the module path's tail); a key that
        // matches no targeted module is a misspelling, not a no-op
        Map<String, Integer> caps = o.rankPattern() == null ? Map.of() : o.rankPattern();
        for (Map.Entry<String, Integer> e : caps.entrySet()) {
            if (e.getValue() < 1) throw new UsageException("--rank-pattern " + e.getKey() + "=" + e.getValue() + ": a rank must be at least 1");
            if (modules.stream().noneMatch(m -> LoraTargets.patternValue(Map.of(e.getKey(), 1), m.module(), 0) == 1)) {
                throw new UsageException("--rank-pattern " + e.getKey() + " matches no targeted module (e.g. " + modules.get(0).module() + ")");
            }
        }
        StagedOutput staged = job.output(o.out(), JobRun.Output.REQUIRED, WHAT, o.overwrite());
        job.console().printf("[extract-lora] %s against %s: %d module(s), r <= %d%s%n", ft.root(), base.root(), modules.size(), o.r(),
                o.energy() < 1 ? String.format(java.util.Locale.ROOT, ", energy %.4g", o.energy()) : "");
        return job.commitAfter("the adapter", () -> {
            for (LoraModule m : modules) {
                String file = staged.staged(StagedOutput.SCRATCH + "factors/" + m.module()).toString();
                int r = LoraTargets.patternValue(caps, m.module(), o.r());
                boolean randomized = o.method() == Method.RANDOMIZED
                        || (o.method() == Method.AUTO && DeltaExtraction.randomizedPays(m.out(), m.in(), r, o.powerIterations()));
                tasks.add(new Task(m, base.tensor(m.weight().name()), r, o.energy(), o.epsilon(), file, VocabularyModules.vocabularyLong(m),
                        randomized, o.powerIterations(), io.weightlab.common.linalg.RandomizedSvd.seedFor(o.seed(), m.module())));
            }
            tasks.sort(Comparator.comparingLong((Task t) -> -t.module().weight().byteLength()));
            Broadcast<SerializableConfiguration> conf = job.conf();
            ProgressReporter progress = job.progress(tasks.stream().mapToLong(t -> 2 * t.module().weight().byteLength()).toArray());
            List<ModuleResult> results = job.jsc().parallelize(tasks, Math.max(1, tasks.size())).map(t -> factor(t, conf.value().get())).collect();
            job.endProgress(progress);

            Map<String, LoraModule> byName = new HashMap<>();
            for (LoraModule m : modules) byName.put(m.module(), m);
            List<LoraModule> kept = new ArrayList<>();
            Map<String, String> files = new HashMap<>();
            List<String> zero = new ArrayList<>();
            int rMax = 0;
            for (ModuleResult r : results) rMax = Math.max(rMax, r.rank());
            if (rMax == 0) throw new UsageException(ft.root() + " equals " + base.root() + " on every targeted module: there is no adapter to extract");
            Map<String, Integer> rankPattern = new TreeMap<>();
            Map<String, Double> alphaPattern = new TreeMap<>();
            for (ModuleResult r : results) {
                if (r.rank() == 0) {
                    zero.add(r.module());
                    continue;
                }
                kept.add(byName.get(r.module()).withRank(r.rank(), r.rank()));
                files.put(r.module(), r.file());
                if (r.rank() != rMax) {
                    rankPattern.put(r.module(), r.rank());
                    alphaPattern.put(r.module(), (double) r.rank());
                }
            }
            kept.sort(Comparator.comparing(LoraModule::module, io.weightlab.common.io.NaturalOrder.INSTANCE));
            AdapterFiles.writeWeights(job, "", kept, files);
            String basePath = base.root().startsWith("file:") ? new Path(base.root()).toUri().getPath() : base.root();
            staged.writeString(PeftAdapterWriter.CONFIG, PeftAdapterWriter.configJson(new PeftAdapterWriter.Settings(
                    basePath, rMax, rMax, false, rankPattern, alphaPattern, o.taskType(), targetModules(modules, kept, o.targets(), modules.size() - vocabulary.modules().size()), conv1d)));

            Map<String, Object> run = job.facts();
            run.put("finetuned", ft.root());
            run.put("base", base.root());
            run.put("r", rMax);
            run.put("r_max", o.r());
            run.put("rank_pattern", new TreeMap<>(caps));
            run.put("include", new ArrayList<>(new TreeSet<>(include(o))));
            run.put("head_tied_to", vocabulary.headTiedTo());
            run.put("energy", o.energy());
            run.put("sv_epsilon", o.epsilon());
            run.put("method", o.method().name().toLowerCase(java.util.Locale.ROOT));
            run.put("power_iterations", o.powerIterations());
            run.put("seed", o.seed());
            run.put("modules", kept.size());
            run.put("zero_delta_modules", zero);
            run.put("seconds", job.seconds());
            List<Map<String, Object>> rows = new ArrayList<>();
            results.stream().filter(r -> r.rank() > 0).sorted(Comparator.comparing(ModuleResult::module, io.weightlab.common.io.NaturalOrder.INSTANCE)).forEach(r -> {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("module", r.module());
                row.put("shape", byName.get(r.module()).weight().shapeList());
                row.put("layer", byName.get(r.module()).embedding() ? "embedding" : "linear");
                row.put("route", r.route());
                row.put("rank", r.rank());
                row.put("delta_frobenius", r.frobenius());
                row.put("residual_energy", r.residualEnergy());
                row.put("sigma_max", r.sigmaMax());
                row.put("sigma_kept", r.sigmaKept());
                rows.add(row);
            });
            ModelWriter.writeProvenance(staged, run, "modules", rows);
            job.console().printf("[extract-lora] %d module(s) with an adapter (ranks %d..%d), %d without (no change above --sv-epsilon); largest residual energy %.3g%n",
                    kept.size(), results.stream().filter(r -> r.rank() > 0).mapToInt(ModuleResult::rank).min().orElse(0), rMax, zero.size(),
                    results.stream().mapToDouble(ModuleResult::residualEnergy).max().orElse(0));
            return new Result(results, run);
        });
    }

    /**
     * Leaf names when every targeted module kept an adapter (all-linear itself when no embedding or head joined it:
     * PEFT's all-linear leaves them out); else one regex of the kept paths (PEFT full-matches a string).
     */
    static List<String> targetModules(List<LoraModule> targeted, List<LoraModule> kept, List<String> asked, int linear) {
        if (kept.size() == targeted.size()) {
            if (asked.size() == 1 && asked.get(0).equals("all-linear") && targeted.size() == linear) return asked;
            TreeSet<String> leaves = new TreeSet<>();
            for (LoraModule m : kept) leaves.add(m.module().substring(m.module().lastIndexOf('.') + 1));
            return new ArrayList<>(leaves);
        }
        StringBuilder re = new StringBuilder("^(?:");
        for (int i = 0; i < kept.size(); i++) re.append(i == 0 ? "" : "|").append(kept.get(i).module().replaceAll("([\\\\.\\[\\]{}()*+?^$|])", "\\\\$1"));
        return List.of(re.append(")$").toString());
    }

    /** On an executor: ΔW of one module in double, its factors written to the scratch file. */
    private static ModuleResult factor(Task t, Configuration conf) throws IOException {
        if (t.gram()) return factorByGram(t, conf);
        LoraModule m = t.module();
        double[] delta;
        try (RangeReader reader = new RangeReader(conf)) {
            delta = LoraModule.readFinite(reader, m.weight());
            double[] b = LoraModule.readFinite(reader, t.base());
            for (int i = 0; i < delta.length; i++) delta[i] -= b[i];
        }
        delta = m.linearOrder(delta);
        DeltaExtraction.Result r = t.randomized()
                ? DeltaExtraction.extractRandomized(delta, m.out(), m.in(), t.r(), t.energy(), t.epsilon(), t.powerIterations(), t.seed())
                : DeltaExtraction.extract(delta, m.out(), m.in(), t.r(), t.energy(), t.epsilon());
        return written(t, r, conf);
    }

    /** On an executor: a vocabulary-long module's ΔW in row slices, never whole (GramDeltaExtraction). */
    private static ModuleResult factorByGram(Task t, Configuration conf) throws IOException {
        TensorInfo ft = t.module().weight(), base = t.base();
        int cols = (int) ft.dim(1);
        try (RangeReader reader = new RangeReader(conf)) {
            GramDeltaExtraction.Rows rows = (first, count) -> {
                long from = first * cols, to = (first + count) * cols;
                double[] d = TensorValues.read(reader, ft, from, to, null), b = TensorValues.read(reader, base, from, to, null);
                for (int i = 0; i < d.length; i++) {
                    if (!Double.isFinite(d[i])) throw LoraModule.nonFinite(ft);
                    if (!Double.isFinite(b[i])) throw LoraModule.nonFinite(base);
                    d[i] -= b[i];
                }
                return d;
            };
            return written(t, GramDeltaExtraction.extract(rows, ft.dim(0), cols, t.r(), t.energy(), t.epsilon(), t.module().embedding(),
                    Math.max(1, SLICE_ELEMENTS / cols)), conf);
        }
    }

    private static ModuleResult written(Task t, DeltaExtraction.Result r, Configuration conf) throws IOException {
        if (r.factors() != null) {
            Path p = new Path(t.file());
            FileSystem fs = p.getFileSystem(conf);
            try (FSDataOutputStream os = fs.create(p, true)) {
                FactorFiles.write(os, r.factors());
            }
        }
        return new ModuleResult(t.module().module(), r.rank(), r.frobenius(), r.residualEnergy(), r.sigmaMax(), r.sigmaKept(), t.file(),
                t.gram() ? "gram" : t.randomized() ? "randomized" : "svd");
    }

    private static Set<String> include(Options o) {
        return o.include() == null ? Set.of() : o.include();
    }

    /** config.json's tie_word_embeddings beside the fine-tune (false without one). */
    private static boolean tiedEmbeddings(Configuration conf, String input) {
        try {
            return CheckpointSiblings.modelConfig(conf, input).path("tie_word_embeddings").asBoolean(false);
        } catch (UsageException noConfig) {
            return false;
        }
    }
}
