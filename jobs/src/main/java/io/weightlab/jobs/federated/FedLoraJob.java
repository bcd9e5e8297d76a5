package io.weightlab.jobs.federated;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WeightWriter;
import io.weightlab.jobs.weights.LoraInitJob;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.fed.ClientSpec;
import io.weightlab.common.fed.ClientWeights;
import io.weightlab.common.fed.FedItAggregator;
import io.weightlab.common.fed.LoraAggregator;
import io.weightlab.common.fed.LoraAggregatorRegistry;
import io.weightlab.common.fed.LoraPair;
import io.weightlab.common.fed.LowRankNorms;
import io.weightlab.common.fed.RoundManifest;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.DType;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.io.ShardPlan;
import io.weightlab.common.lora.FactorFiles;
import io.weightlab.common.lora.ResidualAction;
import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * {@code weightlab fedavg --method fedit|ffa|stack|svd|lora-fair}: one round over PEFT LoRA adapters. The driver reads
 * headers and configs; one task per client checks its values (NaN/Inf); one task per module reads that module's
 * factors from every client and aggregates them (memory: the module's K adapters, K·r·(in+out) doubles); one task
 * streams the result into {@code adapter/adapter_model.safetensors}. The config follows the clients' unless the
 * method changes rank (stack, svd: scaling 1, ranks in rank_pattern).
 */
public final class FedLoraJob {
    public static final String ADAPTER = "adapter/";
    public static final String MERGED = "merged/";

    /** One client's module: the two tensors and the scaling its config gives. */
    private record ClientModule(TensorInfo a, TensorInfo b, double scaling) implements Serializable {}

    private record ModuleTask(String module, List<ClientModule> clients, double[] p, String file) implements Serializable {}

    private record ModuleResult(String module, int r, int in, int out, double scaling, double exactNorm, double residual, double feditResidual)
            implements Serializable {}

    private FedLoraJob() {}

    public static Map<String, Object> run(SparkSession spark, FedAvgJob.Options o, RoundManifest manifest, PrintStream console) {
        long t0 = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hconf = jsc.hadoopConfiguration();
        LoraAggregator agg = LoraAggregatorRegistry.create(o.method(), new MethodParams(o.method(), o.methodParams() == null ? Map.of() : o.methodParams(), f -> null));
        if (o.varianceCorrection() != null || o.clip() != null || o.rejectAbove() != null) {
            throw new UsageException("--variance-correction, --clip and --reject-outliers apply to full checkpoints, not to LoRA rounds");
        }
        boolean drop = FedAvgJob.dropsBadClients(o);
        console.printf("[fedavg] round %s: %d LoRA client(s), %s%n", manifest.round(), manifest.clients().size(), agg.describe());
        Map<String, String> problems = new LinkedHashMap<>();
        Map<String, Checkpoint> ckpts = new LinkedHashMap<>();
        Map<String, JsonNode> configs = new LinkedHashMap<>();
        for (ClientSpec c : manifest.clients()) {
            if (o.weighting().equals("examples") && c.examples() <= 0) {
                problems.put(c.id(), "examples must be > 0, got " + c.examples() + " (rule: PositiveExamples)");
                continue;
            }
            try {
                configs.put(c.id(), new ObjectMapper().readTree(CheckpointSiblings.readSmall(hconf, c.uri() + "/" + PeftAdapterWriter.CONFIG)));
                ckpts.put(c.id(), CheckpointCatalog.open(hconf, c.uri() + "/" + PeftAdapterWriter.WEIGHTS));
            } catch (RuntimeException | IOException e) {
                problems.put(c.id(), "unreadable adapter: " + e.getMessage());
                configs.remove(c.id());
            }
        }
        if (ckpts.isEmpty()) throw new UsageException(manifest.source() + ": no readable client adapter:" + RoundManifest.problemList(problems));
        // Modules and per-client scalings; the first readable client is the template.
        Map<String, Map<String, ClientModule>> byClient = new LinkedHashMap<>();
        List<String> modules = null;
        for (Map.Entry<String, Checkpoint> e : ckpts.entrySet()) {
            try {
                Map<String, ClientModule> ms = modules(e.getValue(), configs.get(e.getKey()));
                if (modules == null) {
                    modules = new ArrayList<>(ms.keySet());
                } else {
                    String why = mismatch(modules, byClient.values().iterator().next(), ms);
                    if (why != null) throw new UsageException(why);
                }
                byClient.put(e.getKey(), ms);
            } catch (UsageException ex) {
                problems.put(e.getKey(), ex.getMessage());
            }
        }
        FedAvgJob.decide(problems, drop, manifest, byClient.size(), o, "before reading values");

        // NaN/Inf: one task per client.
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hconf));
        try {
            List<Tuple2<String, Checkpoint>> toCheck = new ArrayList<>();
            for (String id : byClient.keySet()) toCheck.add(new Tuple2<>(id, ckpts.get(id)));
            Map<String, String> bad = jsc.parallelize(toCheck, Math.max(1, toCheck.size()))
                    .mapToPair(t -> new Tuple2<>(t._1(), nonFinite(t._2(), conf.value().get())))
                    .filter(t -> t._2() != null).collectAsMap();
            problems.putAll(new TreeMap<>(bad));
            List<String> kept = new ArrayList<>();
            for (String id : byClient.keySet()) if (!problems.containsKey(id)) kept.add(id);
            FedAvgJob.decide(problems, drop, manifest, kept.size(), o, "after reading values");
            List<ClientSpec> keptSpecs = new ArrayList<>();
            for (String id : kept) keptSpecs.add(manifest.client(id));
            double[] p = ClientWeights.of(o.weighting(), keptSpecs);

            StagedOutput staged = FedAvgJob.begin(hconf, manifest, ckpts, null, null, o, new TreeMap<>(configs), console);
            List<String> targeted = modules;
            return staged.commitAfter("the round", () -> {
                List<ModuleTask> tasks = new ArrayList<>();
                int i = 0;
                for (String m : targeted) {
                    List<ClientModule> cms = new ArrayList<>();
                    for (String id : kept) cms.add(byClient.get(id).get(m));
                    tasks.add(new ModuleTask(m, cms, p, staged.scratch("factors/" + (i++) + ".f32").toString()));
                }
                List<ModuleResult> results = new ArrayList<>(jsc.parallelize(tasks, Math.max(1, Math.min(tasks.size(), 4 * jsc.defaultParallelism())))
                        .map(t -> aggregateModule(t, agg, conf.value().get())).collect());
                Map<String, ModuleResult> byModule = new LinkedHashMap<>();
                for (ModuleResult r : results) byModule.put(r.module(), r);
                List<LoraModule> outModules = new ArrayList<>();
                Map<String, String> files = new LinkedHashMap<>();
                for (ModuleTask t : tasks) {
                    ModuleResult r = byModule.get(t.module());
                    TensorInfo shape = new TensorInfo(t.module() + ".weight", DType.F32, new long[] {r.out(), r.in()}, "(aggregate)", 0, 4L * r.out() * r.in());
                    String name = t.module().substring("base_model.model.".length());
                    outModules.add(new LoraModule(shape, name, r.r(), r.r() * r.scaling(), r.scaling(), false));
                    files.put(name, t.file());
                }
                String path = staged.staged(ADAPTER + PeftAdapterWriter.WEIGHTS).toString();
                jsc.parallelize(List.of(path), 1).foreach(pp -> LoraInitJob.writeAdapter(pp, outModules, files, conf.value().get()));
                staged.writeString(ADAPTER + PeftAdapterWriter.CONFIG, config(configs.get(kept.get(0)), agg, outModules));
                if (o.mergeInto() != null) merge(jsc, conf, staged, hconf, o, outModules, files);
                Map<String, Object> report = report(manifest, o, agg, problems, kept, p, results, t0);
                try (FSDataOutputStream os = staged.create(FedAvgJob.REPORT)) {
                    Tables.writeJson(os, report);
                }
                console.printf("[fedavg] %d of %d LoRA client(s) aggregated over %d module(s), %.1f s: %s%n", kept.size(), manifest.clients().size(),
                        targeted.size(), (System.nanoTime() - t0) / 1e9, o.out());
                return report;
            });
        } finally {
            conf.destroy();
        }
    }

    /**
     * {@code --merge-into BASE}: the base with the round's update added, W + s·B·A per targeted module (the residual
     * action with −s), written as a full checkpoint into {@code merged/} through the shard writer.
     */
    private static void merge(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, StagedOutput staged, Configuration hconf,
                              FedAvgJob.Options o, List<LoraModule> modules, Map<String, String> files) {
        Checkpoint base = CheckpointCatalog.open(hconf, o.mergeInto());
        Map<String, LoraModule> byWeight = new LinkedHashMap<>();
        for (LoraModule m : modules) byWeight.put(m.module() + ".weight", m);
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        for (TensorInfo t : base.tensors()) {
            LoraModule m = byWeight.remove(t.name());
            if (m == null) {
                plans.add(new TransformPlanner.Planned(t, null, KeepAction.INSTANCE, "not targeted", t.dtype()));
                continue;
            }
            if (t.rank() != 2 || t.dim(0) != m.out() || t.dim(1) != m.in()) {
                throw new UsageException(t.file() + ": '" + t.name() + "' is " + t.shapeString() + " but the adapter's module is [" + m.out() + ", " + m.in() + "] (rule: SameShapes)");
            }
            plans.add(new TransformPlanner.Planned(t, "merge", new ResidualAction(files.get(m.module()), -m.scaling(), m.r(), m.in(), m.out(), false),
                    "W + s B A", t.dtype()));
        }
        if (!byWeight.isEmpty()) throw new UsageException(o.mergeInto() + ": no base weight for adapter module(s) " + byWeight.keySet() + " (rule: SameModules)");
        ShardPlan plan = WeightWriter.shardPlan(plans, o.maxShardBytes());
        WeightWriter.write(jsc, conf, staged, MERGED, plan, plans, Map.of("format", "pt", "weightlab.job", "fedavg-merge"));
        CheckpointSiblings.copy(hconf, o.mergeInto(), staged, MERGED, null);
        WeightWriter.writeIndex(staged, MERGED, plan);
    }

    /** A client's modules (keys base_model.model.<m>.lora_A/B.weight) with the scaling its config gives each. */
    private static Map<String, ClientModule> modules(Checkpoint c, JsonNode cfg) {
        if (!"LORA".equals(cfg.path("peft_type").asText())) throw new UsageException(c.root() + ": adapter_config.json is not a LoRA config (peft_type)");
        Map<String, ClientModule> out = new TreeMap<>();
        for (TensorInfo t : c.tensors()) {
            String n = t.name();
            if (n.endsWith(".lora_B.weight")) continue;
            if (!n.endsWith(".lora_A.weight")) throw new UsageException(c.root() + ": '" + n + "' is not a lora_A/lora_B weight (rule: PlainLoraKeys)");
            String m = n.substring(0, n.length() - ".lora_A.weight".length());
            TensorInfo b = c.tensor(m + ".lora_B.weight");
            if (b == null || t.rank() != 2 || b.rank() != 2 || t.dim(0) != b.dim(1)) throw new UsageException(c.root() + ": '" + m + "' has no matching lora_B (rule: CompleteModule)");
            int r = (int) t.dim(0);
            String short_ = m.startsWith("base_model.model.") ? m.substring("base_model.model.".length()) : m;
            double alpha = pattern(cfg.path("alpha_pattern"), short_, cfg.path("lora_alpha").asDouble(Double.NaN));
            int rc = (int) pattern(cfg.path("rank_pattern"), short_, cfg.path("r").asDouble(Double.NaN));
            if (rc != r) throw new UsageException(c.root() + ": '" + m + "' has rank " + r + " but its config says " + rc + " (rule: ConfigRank)");
            double s = cfg.path("use_rslora").asBoolean(false) ? alpha / Math.sqrt(r) : alpha / r;
            out.put(m, new ClientModule(t, b, s));
        }
        if (out.isEmpty()) throw new UsageException(c.root() + ": no LoRA modules");
        return out;
    }

    private static double pattern(JsonNode pat, String module, double dflt) {
        for (Iterator<Map.Entry<String, JsonNode>> it = pat.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) return e.getValue().asDouble();
        }
        return dflt;
    }

    private static String mismatch(List<String> modules, Map<String, ClientModule> template, Map<String, ClientModule> ms) {
        if (!ms.keySet().equals(new java.util.TreeSet<>(modules))) return "targets different modules than the first client (rule: SameModules)";
        for (String m : modules) {
            ClientModule a = template.get(m), b = ms.get(m);
            if (a.a().dim(1) != b.a().dim(1) || a.b().dim(0) != b.b().dim(0)) {
                return "'" + m + "' is [" + b.b().dim(0) + " x " + b.a().dim(1) + "], the first client's [" + a.b().dim(0) + " x " + a.a().dim(1) + "] (rule: SameShapes)";
            }
        }
        return null;
    }

    private static String nonFinite(Checkpoint c, Configuration conf) {
        try (RangeReader r = new RangeReader(conf)) {
            for (TensorInfo t : c.tensors()) {
                double[] v = TensorValues.read(r, t, 0, t.elementCount(), null);
                long bad = 0;
                for (double x : v) if (!Double.isFinite(x)) bad++;
                if (bad > 0) return "'" + t.name() + "' holds " + bad + " NaN/Inf value(s) in " + c.root() + " (rule: FiniteValues)";
            }
        }
        return null;
    }

    private static ModuleResult aggregateModule(ModuleTask t, LoraAggregator agg, Configuration conf) throws IOException {
        List<LoraPair> pairs = new ArrayList<>();
        try (RangeReader r = new RangeReader(conf)) {
            for (ClientModule cm : t.clients()) {
                int rank = (int) cm.a().dim(0), in = (int) cm.a().dim(1), out = (int) cm.b().dim(0);
                pairs.add(new LoraPair(TensorValues.read(r, cm.a(), 0, cm.a().elementCount(), null), TensorValues.read(r, cm.b(), 0, cm.b().elementCount(), null),
                        rank, in, out, cm.scaling()));
            }
        }
        LoraPair res = agg.aggregate(pairs, t.p());
        // Residuals against the exact Σ p_k s_k B_k A_k, from r x r Gram matrices only.
        double exact = LowRankNorms.frobenius(pairs, t.p());
        List<LoraPair> withOut = new ArrayList<>(pairs);
        withOut.add(res);
        double[] coef = java.util.Arrays.copyOf(t.p(), pairs.size() + 1);
        coef[pairs.size()] = -1;
        double residual = LowRankNorms.frobenius(withOut, coef);
        double fedit = Double.NaN;
        if (agg.keepsConfig()) {
            try {
                withOut.set(pairs.size(), new FedItAggregator().aggregate(pairs, t.p()));
                fedit = LowRankNorms.frobenius(withOut, coef);
            } catch (UsageException e) {
                // heterogeneous ranks: no FedIT baseline
            }
        }
        Path p = new Path(t.file());
        try (FSDataOutputStream os = p.getFileSystem(conf).create(p, true)) {
            FactorFiles.write(os, new LoraFactors(LoraFactors.toFloat(res.a()), LoraFactors.toFloat(res.b()), res.r(), res.in(), res.out(), false, ""));
        }
        return new ModuleResult(t.module(), res.r(), res.in(), res.out(), res.scaling(), exact, residual, fedit);
    }

    /** The first kept client's config; for rank-changing methods r, lora_alpha (= r, scaling 1) and the patterns. */
    private static String config(JsonNode first, LoraAggregator agg, List<LoraModule> modules) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
        ObjectNode c = first.deepCopy();
        c.put("init_lora_weights", true);
        if (!agg.keepsConfig()) {
            int r = 0;
            for (LoraModule m : modules) r = Math.max(r, m.r());
            c.put("r", r);
            c.put("lora_alpha", r);
            c.put("use_rslora", false);
            ObjectNode rp = om.createObjectNode(), ap = om.createObjectNode();
            for (LoraModule m : modules) {
                if (m.r() != r) {
                    rp.put(m.module(), m.r());
                    ap.put(m.module(), m.r());
                }
            }
            c.set("rank_pattern", rp);
            c.set("alpha_pattern", ap);
        }
        return om.writeValueAsString(om.treeToValue(c, Object.class));
    }

    private static Map<String, Object> report(RoundManifest m, FedAvgJob.Options o, LoraAggregator agg, Map<String, String> problems,
                                              List<String> kept, double[] p, List<ModuleResult> results, long t0) {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("job", "fedavg");
        run.put("kind", "lora");
        run.put("round", m.round());
        run.put("manifest", m.source());
        run.put("method", agg.describe());
        run.put("weighting", o.weighting());
        run.put("next_round_init", o.method().equals("lora-fair") || o.method().equals("fedit") || o.method().equals("ffa") ? ADAPTER : null);
        run.put("seconds", (System.nanoTime() - t0) / 1e9);
        List<Map<String, Object>> clients = FedAvgJob.clientRows(m, problems, kept, p);
        List<Map<String, Object>> mods = new ArrayList<>();
        results.sort((a, b) -> a.module().compareTo(b.module()));
        for (ModuleResult r : results) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("module", r.module());
            row.put("r", r.r());
            row.put("scaling", r.scaling());
            row.put("exact_update_norm", r.exactNorm());
            row.put("relative_residual", r.exactNorm() > 0 ? r.residual() / r.exactNorm() : 0.0);
            if (!Double.isNaN(r.feditResidual())) row.put("fedit_relative_residual", r.exactNorm() > 0 ? r.feditResidual() / r.exactNorm() : 0.0);
            mods.add(row);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run", run);
        out.put("clients", clients);
        out.put("modules", mods);
        return out;
    }
}
