package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.weightlab.common.commit.ResumeKey;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.merge.MergeAction;
import io.weightlab.common.merge.MergePlanner;
import io.weightlab.common.merge.MergeRecipe;
import io.weightlab.common.merge.MergeStats;
import io.weightlab.common.merge.TensorMerge;
import io.weightlab.common.merge.TopK;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.SparkContext;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code weightlab merge --config recipe.yaml}: a mergekit recipe run at cluster scale. The driver reads the recipe and
 * the headers and resolves every tensor's parameters ({@link MergePlanner}); the first distributed pass checks every
 * value is finite and measures what a method needs of whole tensors (DARE's L1 norms, SLERP's dot products, the first
 * histogram of TIES/breadcrumbs' top-k search); further passes narrow the top-k searches until each threshold is one
 * value; the model writer then merges slice by slice ({@link MergeAction}) into a Hugging Face checkpoint with the
 * base's config and tokenizer. Every task holds one slice of the N models of one tensor.
 */
public final class MergeJob {
    public static final String PROVENANCE = ModelWriter.PROVENANCE;
    /** The merge's page (report.js draws it from the provenance; {@code report --merge} redraws it). */
    public static final String PAGE = "report.html";
    private static final String WHAT = "where the merged checkpoint goes";
    /** Elements per unit of the measuring passes: the shard writer's piece, so a piece never starts inside a unit. */
    static final int UNIT = 1 << 20;

    public record Options(String recipe, String out, boolean overwrite, long seed, DType outDType, long maxShardBytes, long memoryBudget,
                          boolean resume) implements Serializable {}

    private record Unit(String tensor, long first, int count) implements Serializable {}

    private MergeJob() {}

    /** The recipe file (any Hadoop file system) parsed as mergekit YAML. */
    public static MergeRecipe readRecipe(Configuration conf, String uri) {
        byte[] bytes = CheckpointSiblings.readSmall(conf, uri);
        try {
            JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(new String(bytes, StandardCharsets.UTF_8));
            return MergeRecipe.parse(root, uri);
        } catch (IOException e) {
            throw new UsageException(uri + ": not valid YAML: " + e.getMessage().split("\n", 2)[0]);
        }
    }

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, WHAT);
        try (JobRun run = JobRun.start("merge", sc, console)) {
            Configuration hconf = run.hadoop();
            MergeRecipe recipe = readRecipe(hconf, o.recipe());
            if (recipe.stack() != null) return LayerStacking.run(run, o, recipe, WHAT);
            Planned p = plan(run, recipe, o.seed(), o.outDType(), o.memoryBudget());
            String key = o.resume() ? resumeKey(hconf, o, recipe, p.base, p.inputs) : null;
            StagedOutput staged = run.output(o.out(), JobRun.Output.REQUIRED, WHAT, o.overwrite(), key);
            measure(p);
            return run.commitAfter("the merged checkpoint", () -> {
                Map<String, Object> facts = write(run, staged, p, "", o.maxShardBytes(), run.facts());
                console.printf("[merge] wrote %s in %d shard(s) to %s in %.1f s%n", Format.bytes((Long) facts.get("bytes_out")), p.shards, o.out(), run.seconds());
                return facts;
            });
        }
    }

    /** One recipe's merge as the driver planned it from the headers: nothing read yet, nothing written. */
    static final class Planned {
        final MergeRecipe recipe;
        final long seed;
        final Checkpoint base, reference;
        final List<Checkpoint> inputs = new ArrayList<>();
        final List<String> uris = new ArrayList<>();
        final DType outDType;
        final int step;
        final Map<String, TensorMerge> merges = new LinkedHashMap<>();
        final Map<String, TensorInfo[]> inputTensors = new LinkedHashMap<>();
        final Passes passes;
        long tMeasured;
        int shards;

        private Planned(JobRun run, MergeRecipe recipe, long seed, DType outDTypeOption, long memoryBudget) {
            Configuration hconf = run.hadoop();
            this.recipe = recipe;
            this.seed = seed;
            MergePlanner planner = new MergePlanner(recipe, seed);
            base = planner.usesBase() ? CheckpointCatalog.open(hconf, recipe.baseModel()) : null;
            for (MergeRecipe.Model m : planner.inputs()) {
                inputs.add(CheckpointCatalog.open(hconf, m.uri()));
                uris.add(m.uri());
            }
            reference = base != null ? base : inputs.get(0);
            MergePlanner.checkSameTensors(reference, inputs, uris);
            outDType = outDTypeOption != null ? outDTypeOption : recipe.outDType() != null ? recipe.outDType() : recipe.dtype();
            int layers = MergePlanner.layerCount(reference.tensors());
            planner.checkLayerRanges(layers);
            step = (int) Math.max(4096, Math.min(UNIT, memoryBudget / (8L * (inputs.size() + 3))));
            for (TensorInfo t : reference.tensors()) {
                if (!t.dtype().isFloatingPoint()) continue;
                merges.put(t.name(), planner.plan(t, layers));
                TensorInfo[] ts = new TensorInfo[inputs.size()];
                for (int i = 0; i < ts.length; i++) ts[i] = inputs.get(i).tensor(t.name());
                inputTensors.put(t.name(), ts);
            }
            run.console().printf("[%s] %s: %s of %d model(s)%s, %d floating tensor(s) of %d, %d layer(s)%n", run.job(), recipe.source(), recipe.method(), inputs.size(),
                    base != null ? " onto " + base.root() : "", merges.size(), reference.tensors().size(), layers);
            passes = new Passes(run, base, inputTensors, merges, step, uris, recipe.baseModel());
        }
    }

    /** Plans {@code recipe} (headers only): every check of the recipe against the models runs here, before any output is begun. */
    static Planned plan(JobRun run, MergeRecipe recipe, long seed, DType outDTypeOption, long memoryBudget) {
        return new Planned(run, recipe, seed, outDTypeOption, memoryBudget);
    }

    /** The measuring passes (finite checks, norms, dots, top-k cuts). */
    static void measure(Planned p) {
        p.passes.measure();
        p.tMeasured = System.nanoTime();
    }

    /**
     * Writes the measured merge into the staged output under {@code prefix} ("" or e.g. "top/1-name/"): shards, the
     * base's config and tokenizer, the provenance and the page. {@code facts} is the run-facts map to fill and record.
     */
    static Map<String, Object> write(JobRun run, StagedOutput staged, Planned p, String prefix, long maxShardBytes, Map<String, Object> facts) throws IOException {
        MergeRecipe recipe = p.recipe;
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        List<String> copiedTensors = new ArrayList<>();
        for (TensorInfo t : p.reference.tensors()) {
            TensorMerge m = p.merges.get(t.name());
            if (m == null) {
                copiedTensors.add(t.name());
                plans.add(new TransformPlanner.Planned(t, null, KeepAction.INSTANCE, "not floating point: copied from " + p.reference.root(), t.dtype()));
                continue;
            }
            MergeAction a = new MergeAction(m, p.base == null ? null : p.base.tensor(t.name()), p.inputTensors.get(t.name()), p.step);
            plans.add(new TransformPlanner.Planned(t, recipe.method(), a, a.describe(), p.outDType != null ? p.outDType : t.dtype()));
        }
        Map<String, String> md = new TreeMap<>(ModelWriter.jobMetadata("merge"));
        md.put("weightlab.merge_method", recipe.method());
        md.put("weightlab.seed", Long.toString(p.seed));
        ModelWriter.Model model = ModelWriter.Model.of(prefix, plans, maxShardBytes, md, p.reference.root(), p.outDType, null);
        ModelWriter.Written written = ModelWriter.write(run, model);
        p.shards = written.shards().size();
        facts.put("recipe", recipe.source());
        facts.put("merge_method", recipe.method());
        facts.put("base_model", recipe.baseModel());
        facts.put("models", p.uris);
        facts.put("seed", p.seed);
        facts.put("out_dtype", p.outDType == null ? "as stored" : p.outDType.name());
        facts.put("measure_passes", p.passes.passes);
        facts.put("tie_broken_cuts", p.passes.partialCuts);
        facts.put("seconds_measure", run.secondsAt(p.tMeasured));
        facts.put("seconds", run.seconds());
        facts.put("bytes_out", written.bytes());
        facts.put("copied", written.copied());
        facts.put("copied_tensors", copiedTensors);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (TensorMerge m : p.merges.values()) rows.add(row(m, p.base != null));
        ModelWriter.writeProvenance(staged, prefix, facts, "tensors", rows);
        writePage(staged, prefix, facts, rows);
        return facts;
    }

    /** The page beside the provenance it is drawn from; a page that cannot be written fails the run like any other output. */
    static void writePage(StagedOutput staged, String prefix, Map<String, Object> facts, List<Map<String, Object>> rows) {
        try {
            staged.writeString(prefix + PAGE, io.weightlab.common.report.MergeReport.render(facts, rows));
        } catch (IOException e) {
            throw new io.weightlab.common.error.WeightLabException(staged.outputDir() + ": writing " + prefix + PAGE + " failed: " + e.getMessage(), e);
        }
    }

    /** A provenance row: the method, its parameters as resolved for this tensor and what each input contributed (null: not applicable). */
    private static Map<String, Object> row(TensorMerge m, boolean hasBase) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("name", m.tensor);
        r.put("method", m.methodName);
        r.put("parameters", m.resolved());
        double[] norms = null;
        if (hasBase) {
            norms = new double[m.inputs];
            for (int i = 0; i < m.inputs; i++) norms[i] = Math.sqrt(m.sumSq[i]);
        }
        r.put("task_vector_norms", norms);
        double[] kept = null;
        if (m.method.needsMaskNorms(m)) {
            kept = new double[m.inputs];
            for (int i = 0; i < m.inputs; i++) kept[i] = m.kept[i] / m.elements;
        } else if (m.rankedKeep >= 0) {
            kept = new double[m.inputs];
            java.util.Arrays.fill(kept, (double) m.rankedKeep / m.elements);
        } else if (m.cuts != null) {
            kept = new double[m.inputs];
            long[][] k = m.method.topK(m);
            for (int i = 0; i < m.inputs; i++) {
                kept[i] = k[i].length == 0 ? 1 : k[i].length == 1 ? (double) k[i][0] / m.elements : (double) (k[i][0] - k[i][1]) / m.elements;
            }
        }
        r.put("kept_fraction", kept);
        r.put("cosine_base_model", m.method.needsDots() ? m.dotBX / Math.sqrt(m.sqB * m.sqX) : null);
        return r;
    }

    /** The measuring passes over units of every floating tensor. */
    private static final class Passes {
        final JobRun run;
        final Checkpoint base;
        final Map<String, TensorInfo[]> inputTensors;
        final Map<String, TensorMerge> merges;
        final int step;
        final List<String> uris;
        final String baseUri;
        final Map<String, TopK.Search[][]> searches = new LinkedHashMap<>();
        int passes;
        /** Cuts whose threshold value was kept only in part (ties broken by index). */
        int partialCuts;

        Passes(JobRun run, Checkpoint base, Map<String, TensorInfo[]> inputTensors, Map<String, TensorMerge> merges, int step, List<String> uris, String baseUri) {
            this.run = run;
            this.base = base;
            this.inputTensors = inputTensors;
            this.merges = merges;
            this.step = step;
            this.uris = uris;
            this.baseUri = baseUri;
        }

        void measure() {
            for (TensorMerge m : merges.values()) {
                long[][] k = m.method.topK(m);
                if (k == null) continue;
                TopK.Search[][] s = new TopK.Search[m.inputs][];
                for (int i = 0; i < m.inputs; i++) {
                    s[i] = new TopK.Search[k[i].length];
                    for (int c = 0; c < k[i].length; c++) s[i][c] = new TopK.Search(k[i][c], m.elements);
                }
                searches.put(m.tensor, s);
            }
            Map<String, MergeStats> first = pass(new ArrayList<>(merges.keySet()), true, false);
            for (Map.Entry<String, MergeStats> e : first.entrySet()) {
                MergeStats s = e.getValue().finish();
                checkFinite(e.getKey(), s);
                TensorMerge m = merges.get(e.getKey());
                s.copyFirstPassInto(m);
                if (m.method.ranksAcrossInputs(m)) {
                    // one search over the value ranked across inputs, at input 0, now that its k is known
                    m.rankedKeep = m.method.rankK(m, s.nonZeroRanked);
                    TopK.Search[][] across = new TopK.Search[m.inputs][];
                    for (int i = 0; i < m.inputs; i++) across[i] = new TopK.Search[0];
                    across[0] = new TopK.Search[] {new TopK.Search(m.rankedKeep, m.elements)};
                    searches.put(m.tensor, across);
                }
            }
            advance(first);
            while (true) {
                List<String> open = new ArrayList<>();
                for (Map.Entry<String, TopK.Search[][]> e : searches.entrySet()) if (!allDone(e.getValue())) open.add(e.getKey());
                if (open.isEmpty()) break;
                advance(pass(open, false, false));
            }
            equalCounts();
            for (Map.Entry<String, TopK.Search[][]> e : searches.entrySet()) {
                TopK.Search[][] s = e.getValue();
                TopK.Cut[][] cuts = new TopK.Cut[s.length][];
                for (int i = 0; i < s.length; i++) {
                    cuts[i] = new TopK.Cut[s[i].length];
                    for (int c = 0; c < s[i].length; c++) cuts[i][c] = s[i][c].cut();
                }
                merges.get(e.getKey()).cuts = cuts;
            }
            List<String> masked = new ArrayList<>();
            for (TensorMerge m : merges.values()) if (m.method.ranksAcrossInputs(m)) masked.add(m.tensor);
            if (!masked.isEmpty()) {
                // Σ(m⊙τ_i)² under the cut, for the coefficients of sce's select_topk < 1
                for (Map.Entry<String, MergeStats> e : pass(masked, false, true).entrySet()) merges.get(e.getKey()).maskedSumSq = e.getValue().finish().sumSq.clone();
            }
        }

        private static boolean allDone(TopK.Search[][] s) {
            for (TopK.Search[] a : s) for (TopK.Search x : a) if (!x.done()) return false;
            return true;
        }

        private void advance(Map<String, MergeStats> stats) {
            for (Map.Entry<String, TopK.Search[][]> e : searches.entrySet()) {
                MergeStats st = stats.get(e.getKey());
                if (st == null) continue;
                TopK.Search[][] s = e.getValue();
                for (int i = 0; i < s.length; i++) {
                    // a search opened after the first pass (across inputs) has no histogram in that pass's stats
                    for (int c = 0; c < s[i].length && c < st.hist[i].length; c++) if (st.hist[i][c] != null) s[i][c].advance(st.hist[i][c]);
                }
            }
        }

        private List<Unit> units(List<String> tensors) {
            List<Unit> out = new ArrayList<>();
            for (String t : tensors) {
                TensorMerge m = merges.get(t);
                long n = m.elements;
                // whole rows for a method that ranks within them (DELLA); UNIT otherwise (the top-k equal counts assume it)
                int unit = io.weightlab.common.merge.MergeMethod.alignedStep(UNIT, m.method.rowAlignment(m));
                for (long f = 0; f < n; f += unit) out.add(new Unit(t, f, (int) Math.min(unit, n - f)));
            }
            return out;
        }

        private Map<String, MergeStats> pass(List<String> tensors, boolean full, boolean afterCut) {
            passes++;
            List<Unit> units = units(tensors);
            JavaSparkContext jsc = run.jsc();
            var conf = run.conf();
            Map<String, TensorMerge> ms = new LinkedHashMap<>();
            Map<String, TensorInfo[]> ins = new LinkedHashMap<>();
            Map<String, TensorInfo> bs = new LinkedHashMap<>();
            Map<String, TopK.Search[][]> ss = new LinkedHashMap<>();
            for (String t : tensors) {
                ms.put(t, merges.get(t));
                ins.put(t, inputTensors.get(t));
                if (base != null) bs.put(t, base.tensor(t));
                if (searches.containsKey(t)) ss.put(t, searches.get(t));
            }
            Broadcast<Object[]> b = jsc.broadcast(new Object[] {ms, ins, bs, ss});
            int step = this.step;
            try {
                return new TreeMap<>(jsc.parallelize(units, partitions(jsc, units.size())).mapToPair(u -> {
                    @SuppressWarnings("unchecked") Object[] v = b.value();
                    @SuppressWarnings("unchecked") Map<String, TensorMerge> m = (Map<String, TensorMerge>) v[0];
                    @SuppressWarnings("unchecked") Map<String, TensorInfo[]> in = (Map<String, TensorInfo[]>) v[1];
                    @SuppressWarnings("unchecked") Map<String, TensorInfo> bb = (Map<String, TensorInfo>) v[2];
                    @SuppressWarnings("unchecked") Map<String, TopK.Search[][]> s = (Map<String, TopK.Search[][]>) v[3];
                    try (RangeReader r = new RangeReader(conf.value().get())) {
                        return new Tuple2<>(u.tensor(), MergeStats.measure(r, m.get(u.tensor()), bb.get(u.tensor()), in.get(u.tensor()),
                                s.get(u.tensor()), u.first(), u.count(), step, full, afterCut));
                    }
                }).reduceByKey(MergeStats::merge).collectAsMap());
            } finally {
                b.destroy();
            }
        }

        /** Where some but not all elements equal to a threshold are kept: how many there are in each unit, in unit order. */
        private void equalCounts() {
            List<String> tensors = new ArrayList<>();
            for (Map.Entry<String, TopK.Search[][]> e : searches.entrySet()) {
                boolean any = false;
                for (TopK.Search[] a : e.getValue()) for (TopK.Search x : a) any |= x.needsEqualCounts();
                if (any) tensors.add(e.getKey());
            }
            if (tensors.isEmpty()) return;
            passes++;
            for (String t : tensors) for (TopK.Search[] a : searches.get(t)) for (TopK.Search x : a) if (x.needsEqualCounts()) partialCuts++;
            List<Unit> units = units(tensors);
            JavaSparkContext jsc = run.jsc();
            var conf = run.conf();
            Map<String, TensorInfo[]> ins = new LinkedHashMap<>();
            Map<String, TensorInfo> bs = new LinkedHashMap<>();
            Map<String, TopK.Search[][]> ss = new LinkedHashMap<>();
            for (String t : tensors) {
                ins.put(t, inputTensors.get(t));
                bs.put(t, base.tensor(t));
                ss.put(t, searches.get(t));
            }
            Map<String, TensorMerge> ms = new LinkedHashMap<>();
            for (String t : tensors) ms.put(t, merges.get(t));
            Broadcast<Object[]> b = jsc.broadcast(new Object[] {ins, bs, ss, ms});
            int step = this.step;
            List<Tuple2<Unit, long[][]>> counts;
            try {
                counts = jsc.parallelize(units, partitions(jsc, units.size())).map(u -> {
                    @SuppressWarnings("unchecked") Map<String, TensorInfo[]> in = (Map<String, TensorInfo[]>) b.value()[0];
                    @SuppressWarnings("unchecked") Map<String, TensorInfo> bb = (Map<String, TensorInfo>) b.value()[1];
                    @SuppressWarnings("unchecked") Map<String, TopK.Search[][]> s = (Map<String, TopK.Search[][]>) b.value()[2];
                    @SuppressWarnings("unchecked") Map<String, TensorMerge> mm = (Map<String, TensorMerge>) b.value()[3];
                    try (RangeReader r = new RangeReader(conf.value().get())) {
                        return new Tuple2<>(u, MergeStats.equalCounts(r, mm.get(u.tensor()), bb.get(u.tensor()), in.get(u.tensor()), s.get(u.tensor()),
                                u.first(), u.count(), step));
                    }
                }).collect();
            } finally {
                b.destroy();
            }
            for (String t : tensors) {
                TopK.Search[][] s = searches.get(t);
                int nUnits = (int) ((merges.get(t).elements + UNIT - 1) / UNIT);
                for (int i = 0; i < s.length; i++) {
                    for (int c = 0; c < s[i].length; c++) {
                        if (!s[i][c].needsEqualCounts()) continue;
                        long[] per = new long[nUnits];
                        for (Tuple2<Unit, long[][]> x : counts) if (x._1().tensor().equals(t)) per[(int) (x._1().first() / UNIT)] = x._2()[i][c];
                        s[i][c].setEqualCounts(UNIT, per);
                    }
                }
            }
        }

        private void checkFinite(String tensor, MergeStats s) {
            for (int k = 0; k < s.nonFinite.length; k++) {
                if (s.nonFinite[k] == 0) continue;
                String who = k == 0 ? baseUri : uris.get(k - 1);
                TensorInfo t = k == 0 ? base.tensor(tensor) : inputTensors.get(tensor)[k - 1];
                throw new CheckpointFormatException(t.file(), tensor, "FiniteValues", s.nonFinite[k] + " NaN/Inf value(s) in " + who
                        + ", the first at element " + s.firstNonFinite[k] + "; a merge would spread them");
            }
        }

        private static int partitions(JavaSparkContext jsc, int tasks) {
            return Math.max(1, Math.min(tasks, 4 * jsc.defaultParallelism()));
        }
    }

    /** Everything the output's bytes depend on: the recipe's text, every model's files, seed, dtype and shard size. */
    static String resumeKey(Configuration conf, Options o, MergeRecipe recipe, Checkpoint base, List<Checkpoint> inputs) {
        ResumeKey k = ResumeKey.of(conf, "merge").add(new String(CheckpointSiblings.readSmall(conf, o.recipe()), StandardCharsets.UTF_8));
        if (base != null) k.checkpoint(base);
        for (Checkpoint c : inputs) k.checkpoint(c);
        return k.add(o.seed()).add(o.outDType()).add(o.maxShardBytes()).add(o.memoryBudget()).hash();
    }
}
