package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.AdapterClients;
import io.weightlab.common.fed.AdapterClients.ClientModule;
import io.weightlab.common.fed.LoraPair;
import io.weightlab.common.fed.LowRankNorms;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.lora.FactorFiles;
import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.lora.ResidualPlan;
import io.weightlab.common.merge.adapter.AdapterCombination;
import io.weightlab.common.merge.adapter.AdapterCombinations;
import io.weightlab.common.method.MethodCatalog;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import io.weightlab.jobs.spark.AdapterFiles;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code weightlab merge --adapters A,B,… --weights …}: PEFT's {@code add_weighted_adapter} at cluster scale
 * (docs/algorithms.md "Adapter merges"). The driver reads the adapters' configs and headers; one task per module reads
 * that module's factors from every adapter that has it, combines them ({@link AdapterCombination}) and leaves the
 * result in the staging; one task streams them into the adapter file. Memory per task: the module's factors, plus
 * K dense ΔW (out x in doubles each) for the combinations that prune ΔW (ties_svd, dare_*_svd, magnitude_prune_svd).
 * {@code --into-base BASE} also writes BASE + s·B·A as a full checkpoint under {@code merged/}.
 */
public final class AdapterMergeJob {
    public static final String REPORT = "merge_report.json";
    public static final String MERGED = "merged/";
    private static final String WHAT = "where the merged adapter goes";

    public record Options(List<String> adapters, double[] weights, String combination, String out, boolean overwrite, long seed,
                          String intoBase, long maxShardBytes) implements Serializable {}

    private record Input(String uri, JsonNode config, Checkpoint weights, Map<String, ClientModule> modules, int configRank) {}

    private record ModuleTask(String module, List<ClientModule> present, double[] weights, int[] inputs, String file) implements Serializable {}

    private record ModuleResult(String module, int in, int out, double exactNorm, double residual) implements Serializable {}

    private AdapterMergeJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, WHAT);
        if (o.adapters().isEmpty()) throw new UsageException("--adapters: no adapter given");
        if (o.weights().length != o.adapters().size()) {
            throw new UsageException("--weights has " + o.weights().length + " value(s) for " + o.adapters().size() + " adapter(s): one weight per adapter");
        }
        for (double w : o.weights()) if (!Double.isFinite(w)) throw new UsageException("--weights: " + w + " is not a finite number");
        Map.Entry<String, Map<String, String>> spec = MethodCatalog.parseSpec(o.combination());
        // PEFT merges a single adapter linearly whatever combination was asked
        String name = o.adapters().size() == 1 ? "linear" : spec.getKey();
        AdapterCombination comb = AdapterCombinations.create(name, o.adapters().size() == 1 ? Map.of() : spec.getValue());
        try (JobRun run = JobRun.start("merge-adapters", sc, console)) {
            Configuration hconf = run.hadoop();
            List<Input> inputs = readInputs(hconf, o.adapters());
            int[] ranks = inputs.stream().mapToInt(Input::configRank).toArray();
            int newRank = comb.newRank(ranks);
            List<String> modules = modules(inputs);
            JsonNode first = inputs.get(0).config();
            double scaling = first.path("use_rslora").asBoolean(false) ? newRank / Math.sqrt(newRank) : 1.0;
            if (scaling != 1) {
                console.printf("[merge] note: %s uses rsLoRA; as PEFT, the merged config keeps use_rslora with lora_alpha = r = %d, so its scaling is √r = %.4g%n",
                        o.adapters().get(0), newRank, scaling);
            }
            console.printf("[merge] %s of %d adapter(s), %d module(s), rank %d%s%n", o.combination(), inputs.size(), modules.size(), newRank,
                    name.equals(spec.getKey()) ? "" : " (one adapter: linear, as PEFT)");
            checkBeforeWriting(run, inputs, modules, comb, newRank);
            StagedOutput staged = run.output(o.out(), JobRun.Output.REQUIRED, WHAT, o.overwrite());
            return run.commitAfter("the merged adapter", () -> {
                List<ModuleTask> tasks = new ArrayList<>();
                for (String m : modules) {
                    List<ClientModule> present = new ArrayList<>();
                    List<Integer> which = new ArrayList<>();
                    for (int i = 0; i < inputs.size(); i++) {
                        ClientModule cm = inputs.get(i).modules().get(m);
                        if (cm == null) continue;
                        present.add(cm);
                        which.add(i);
                    }
                    double[] w = new double[present.size()];
                    int[] idx = new int[present.size()];
                    for (int k = 0; k < w.length; k++) {
                        idx[k] = which.get(k);
                        w[k] = o.weights()[idx[k]];
                    }
                    tasks.add(new ModuleTask(m, present, w, idx, staged.scratch("factors/" + tasks.size() + ".f32").toString()));
                }
                var conf = run.conf();
                long seed = o.seed();
                List<ModuleResult> results = run.jsc().parallelize(tasks, Math.max(1, Math.min(tasks.size(), 4 * run.jsc().defaultParallelism())))
                        .map(t -> combineModule(t, comb, newRank, scaling, seed, conf.value().get())).collect();
                List<LoraModule> outModules = new ArrayList<>();
                Map<String, String> factorFiles = new LinkedHashMap<>();
                boolean fan = first.path("fan_in_fan_out").asBoolean(false);
                for (int i = 0; i < tasks.size(); i++) {
                    ModuleResult r = results.get(i);
                    String shortName = tasks.get(i).module().substring("base_model.model.".length());
                    long[] shape = fan ? new long[] {r.in(), r.out()} : new long[] {r.out(), r.in()};
                    TensorInfo w = new TensorInfo(shortName + ".weight", DType.F32, shape, "(merged adapter)", 0, 4L * r.in() * r.out());
                    outModules.add(new LoraModule(w, shortName, newRank, newRank, scaling, fan));
                    factorFiles.put(shortName, tasks.get(i).file());
                }
                AdapterFiles.writeWeights(run, "", outModules, factorFiles);
                staged.writeString(PeftAdapterWriter.CONFIG, config(inputs, newRank));
                if (o.intoBase() != null) intoBase(run, o, outModules, factorFiles);
                return writeReport(run, staged, o, name, newRank, scaling, inputs, results, tasks);
            });
        }
    }

    /**
     * Everything that can refuse the merge, before any output exists: each module against the combination (headers),
     * then NaN/Inf in any adapter (one task per adapter; adapters are small). A module task failing later would leave
     * the other modules' tasks writing into a staging the failure is removing.
     */
    private static void checkBeforeWriting(JobRun run, List<Input> inputs, List<String> modules, AdapterCombination comb, int newRank) {
        for (String m : modules) {
            List<Integer> ranks = new ArrayList<>();
            List<String> files = new ArrayList<>();
            ClientModule any = null;
            for (Input in : inputs) {
                ClientModule cm = in.modules().get(m);
                if (cm == null) continue;
                ranks.add((int) cm.a().dim(0));
                files.add(cm.a().file() + " (r " + cm.a().dim(0) + ")");
                any = cm;
            }
            try {
                comb.checkModule(m, ranks.stream().mapToInt(Integer::intValue).toArray(), (int) any.a().dim(1), (int) any.b().dim(0), newRank);
            } catch (UsageException e) {
                throw new UsageException(e.getMessage() + "; in " + String.join(", ", files));
            }
        }
        var conf = run.conf();
        List<Checkpoint> adapters = new ArrayList<>();
        for (Input in : inputs) adapters.add(in.weights());
        List<String> problems = run.jsc().parallelize(adapters, Math.max(1, adapters.size())).map(c -> {
            try (RangeReader r = new RangeReader(conf.value().get())) {
                return io.weightlab.common.fed.ClientMoments.nonFiniteProblem(r, c);
            }
        }).collect();
        for (String p : problems) if (p != null) throw new UsageException(p);
    }

    /** Each adapter's config and headers, its modules with their scalings, and its config rank (max of r and rank_pattern). */
    private static List<Input> readInputs(Configuration hconf, List<String> uris) {
        List<Input> out = new ArrayList<>();
        for (String uri : uris) {
            JsonNode cfg;
            try {
                cfg = new ObjectMapper().readTree(CheckpointSiblings.readSmall(hconf, uri + "/" + PeftAdapterWriter.CONFIG));
            } catch (IOException e) {
                throw new UsageException(uri + "/" + PeftAdapterWriter.CONFIG + ": not JSON: " + e.getMessage().split("\n", 2)[0]);
            }
            if (cfg.path("use_dora").asBoolean(false)) throw new UsageException(uri + ": a DoRA adapter; PEFT's add_weighted_adapter does not merge DoRA magnitudes (rule: PlainLora)");
            Checkpoint c = CheckpointCatalog.open(hconf, uri + "/" + PeftAdapterWriter.WEIGHTS);
            Map<String, ClientModule> ms = AdapterClients.modules(c, cfg);
            int r = cfg.path("r").asInt(0);
            for (Iterator<JsonNode> it = cfg.path("rank_pattern").elements(); it.hasNext(); ) r = Math.max(r, it.next().asInt());
            out.add(new Input(uri, cfg, c, ms, r));
        }
        return out;
    }

    /** The union of the adapters' modules, sorted; a module present in two adapters with different shapes is refused. */
    private static List<String> modules(List<Input> inputs) {
        Map<String, long[]> shapes = new TreeMap<>();
        for (Input in : inputs) {
            for (Map.Entry<String, ClientModule> e : in.modules().entrySet()) {
                long[] s = {e.getValue().b().dim(0), e.getValue().a().dim(1)};
                long[] before = shapes.putIfAbsent(e.getKey(), s);
                if (before != null && !Arrays.equals(before, s)) {
                    throw new UsageException(in.uri() + ": '" + e.getKey() + "' is [" + s[0] + " x " + s[1] + "], " + inputs.get(0).uri() + "'s ["
                            + before[0] + " x " + before[1] + "]: adapters of different bases (rule: SameShapes)");
                }
            }
        }
        return new ArrayList<>(shapes.keySet());
    }

    /** Executor: the module's factors from each adapter that has it (refusing NaN/Inf), combined; residual against Σ w·s·B·A. */
    private static ModuleResult combineModule(ModuleTask t, AdapterCombination comb, int newRank, double scaling, long seed, Configuration conf) throws IOException {
        List<LoraPair> pairs = new ArrayList<>();
        try (RangeReader r = new RangeReader(conf)) {
            for (ClientModule cm : t.present()) {
                int rank = (int) cm.a().dim(0), in = (int) cm.a().dim(1), out = (int) cm.b().dim(0);
                pairs.add(new LoraPair(LoraModule.readFinite(r, cm.a()), LoraModule.readFinite(r, cm.b()), rank, in, out, cm.scaling()));
            }
        }
        LoraPair res = comb.combine(t.module(), pairs, t.weights(), newRank, seed);
        double exact = LowRankNorms.frobenius(pairs, t.weights());
        List<LoraPair> withOut = new ArrayList<>(pairs);
        withOut.add(new LoraPair(res.a(), res.b(), res.r(), res.in(), res.out(), scaling));
        double[] coef = Arrays.copyOf(t.weights(), pairs.size() + 1);
        coef[pairs.size()] = -1;
        double residual = LowRankNorms.frobenius(withOut, coef);
        Path p = new Path(t.file());
        try (FSDataOutputStream os = p.getFileSystem(conf).create(p, true)) {
            FactorFiles.write(os, new LoraFactors(LoraFactors.toFloat(res.a()), LoraFactors.toFloat(res.b()), res.r(), res.in(), res.out(), false, ""));
        }
        return new ModuleResult(t.module(), res.in(), res.out(), exact, residual);
    }

    /** The first adapter's config with PEFT's changes: r = lora_alpha = the new rank, no patterns, the targets' union. */
    static String config(List<Input> inputs, int newRank) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
        ObjectNode c = inputs.get(0).config().deepCopy();
        c.put("r", newRank);
        c.put("lora_alpha", newRank);
        c.set("rank_pattern", om.createObjectNode());
        c.set("alpha_pattern", om.createObjectNode());
        c.put("init_lora_weights", true);
        boolean strings = inputs.get(0).config().path("target_modules").isTextual();
        TreeSet<String> union = new TreeSet<>();
        List<String> regexes = new ArrayList<>();
        for (Input in : inputs) {
            JsonNode tm = in.config().path("target_modules");
            if (tm.isTextual() != strings) throw new UsageException(in.uri() + ": target_modules is a " + (tm.isTextual() ? "string" : "list")
                    + " but " + inputs.get(0).uri() + "'s is not; PEFT cannot combine a regex with a list (rule: SameTargetKind)");
            if (strings) regexes.add("(" + tm.asText() + ")");
            else tm.forEach(x -> union.add(x.asText()));
        }
        if (strings) {
            c.put("target_modules", String.join("|", regexes));
        } else {
            ArrayNode a = c.putArray("target_modules");
            union.forEach(a::add);
        }
        return om.writeValueAsString(om.treeToValue(c, Object.class));
    }

    /** BASE + s·B·A of the merged adapter, as a full checkpoint under merged/ (the base's config and tokenizer copied). */
    private static void intoBase(JobRun run, Options o, List<LoraModule> modules, Map<String, String> factorFiles) {
        Checkpoint base = CheckpointCatalog.open(run.hadoop(), o.intoBase());
        Map<String, LoraModule> byWeight = new LinkedHashMap<>();
        for (LoraModule m : modules) byWeight.put(m.module() + ".weight", m);
        List<io.weightlab.common.transform.TransformPlanner.Planned> plans = ResidualPlan.of(base.tensors(), o.intoBase(), byWeight, factorFiles, false,
                "merge", "W + s B A");
        ModelWriter.write(run, ModelWriter.Model.of(MERGED, plans, o.maxShardBytes(), ModelWriter.jobMetadata("merge-adapters"), o.intoBase(), null, null));
    }

    private static Map<String, Object> writeReport(JobRun run, StagedOutput staged, Options o, String name, int newRank,
                                                   double scaling, List<Input> inputs, List<ModuleResult> results, List<ModuleTask> tasks) throws IOException {
        Map<String, Object> facts = run.facts();
        facts.put("combination_type", name);
        facts.put("combination", o.combination());
        facts.put("adapters", o.adapters());
        facts.put("weights", o.weights());
        facts.put("seed", o.seed());
        facts.put("r", newRank);
        facts.put("scaling", scaling);
        facts.put("into_base", o.intoBase());
        facts.put("seconds", run.seconds());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            ModuleResult r = results.get(i);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("module", r.module());
            row.put("adapters", Arrays.stream(tasks.get(i).inputs()).mapToObj(k -> inputs.get(k).uri()).toList());
            row.put("shape", new long[] {r.out(), r.in()});
            row.put("exact_update_norm", r.exactNorm());
            // how far the merged B·A is from the exact Σ w·s·B·A (0 for cat; PEFT's linear/ties are approximations)
            row.put("relative_residual", r.exactNorm() > 0 ? r.residual() / r.exactNorm() : 0.0);
            rows.add(row);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("run", facts);
        report.put("modules", rows);
        try (FSDataOutputStream os = staged.create(REPORT)) {
            Tables.writeJson(os, report);
        }
        double worst = 0;
        for (Map<String, Object> r : rows) worst = Math.max(worst, (double) r.get("relative_residual"));
        run.console().printf("[merge] %d module(s) merged by %s into rank %d in %.1f s (largest relative residual vs Σ w·s·B·A: %.3g): %s%n",
                rows.size(), name, newRank, run.seconds(), worst, o.out());
        return facts;
    }
}
