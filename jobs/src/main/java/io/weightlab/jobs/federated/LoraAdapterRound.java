package io.weightlab.jobs.federated;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.AdapterClients;
import io.weightlab.common.fed.AdapterClients.ClientModule;
import io.weightlab.common.fed.ClientMoments;
import io.weightlab.common.fed.ClientSpec;
import io.weightlab.common.fed.FedItAggregator;
import io.weightlab.common.fed.LoraAggregator;
import io.weightlab.common.fed.LoraAggregatorRegistry;
import io.weightlab.common.fed.LoraPair;
import io.weightlab.common.fed.LowRankNorms;
import io.weightlab.common.fed.Weighting;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.lora.FactorFiles;
import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.ResidualPlan;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.AdapterFiles;
import io.weightlab.jobs.spark.ModelWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import scala.Tuple2;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One round over PEFT LoRA adapters ({@code --method fedit|ffa|stack|svd|lora-fair}). {@link #validateAdapters}
 * (driver) reads headers and configs; {@link #finiteValuesPass} checks each client's values in one task per client;
 * {@link #aggregatePass} reads each module's factors from every client and aggregates them in one task per module
 * (memory: the module's K adapters, K·r·(in+out) doubles); {@link #writeAdapter} streams the result into
 * {@code adapter/adapter_model.safetensors} with its config (the clients' unless the method changes rank: stack, svd
 * get scaling 1 and ranks in rank_pattern); {@link #mergeIntoBase} optionally writes BASE + s·B·A.
 */
final class LoraAdapterRound {
    static final String ADAPTER = "adapter/";
    static final String MERGED = "merged/";

    private record ModuleTask(String module, List<ClientModule> clients, double[] p, String file) implements Serializable {}

    private record ModuleResult(String module, int r, int in, int out, double scaling, double exactNorm, double residual, double feditResidual)
            implements Serializable {}

    private final RoundInputs in;
    private final FedAvgJob.Options o;
    private final LoraAggregator agg;
    private AdapterClients adapters;
    private List<String> kept;
    private double[] weights;
    private final List<ModuleTask> tasks = new ArrayList<>();
    private List<ModuleResult> results;
    private final List<LoraModule> outModules = new ArrayList<>();
    private final Map<String, String> factorFiles = new LinkedHashMap<>();

    private LoraAdapterRound(RoundInputs in) {
        this.in = in;
        this.o = in.options;
        agg = LoraAggregatorRegistry.create(o.method(), new MethodParams(o.method(), o.methodParams() == null ? Map.of() : o.methodParams(), f -> null));
        if (o.dp() != null) throw new UsageException("--dp applies to full-checkpoint rounds, not to LoRA methods (" + o.method() + ")");
        if (o.varianceCorrection() != null || o.clip() != null || o.rejectAbove() != null) {
            throw new UsageException("--variance-correction, --clip and --reject-outliers apply to full checkpoints, not to LoRA rounds");
        }
    }

    static Map<String, Object> run(RoundInputs in) {
        LoraAdapterRound round = new LoraAdapterRound(in);
        in.console.printf("[fedavg] round %s: %d LoRA client(s), %s%n", in.manifest.round(), in.manifest.clients().size(), round.agg.describe());
        round.validateAdapters();
        round.finiteValuesPass();
        StagedOutput staged = in.stage(round.adapters.checkpoints(), null, null, new TreeMap<>(round.adapters.configs()));
        return in.run.commitAfter("the round", () -> {
            round.aggregatePass(staged);
            round.writeAdapter(staged);
            if (round.o.mergeInto() != null) round.mergeIntoBase(staged);
            return round.writeReport(staged);
        });
    }

    /** Driver: every client's adapter config and modules against the first client's. */
    private void validateAdapters() {
        AdapterClients.AdapterReader reader = new AdapterClients.AdapterReader() {
            @Override
            public byte[] config(String uri) {
                return CheckpointSiblings.readSmall(in.hconf, uri + "/" + PeftAdapterWriter.CONFIG);
            }

            @Override
            public Checkpoint weights(String uri) {
                return CheckpointCatalog.open(in.hconf, uri + "/" + PeftAdapterWriter.WEIGHTS);
            }
        };
        adapters = AdapterClients.open(reader, o.weighting() == Weighting.EXAMPLES, in.validation);
        in.validation.decide(adapters.byClient().size(), "before reading values");
    }

    /** Executors, one task per client: NaN/Inf anywhere in the adapter; then the survivors and their weights. */
    private void finiteValuesPass() {
        var conf = in.conf();
        List<Tuple2<String, Checkpoint>> toCheck = new ArrayList<>();
        for (String id : adapters.byClient().keySet()) toCheck.add(new Tuple2<>(id, adapters.checkpoints().get(id)));
        Map<String, String> bad = in.jsc.parallelize(toCheck, Math.max(1, toCheck.size()))
                .mapToPair(t -> new Tuple2<>(t._1(), nonFinite(t._2(), conf.value().get())))
                .filter(t -> t._2() != null).collectAsMap();
        new TreeMap<>(bad).forEach(in.validation::reject);
        kept = in.validation.survivors(adapters.byClient().keySet());
        in.validation.decide(kept.size(), "after reading values");
        List<ClientSpec> keptSpecs = new ArrayList<>();
        for (String id : kept) keptSpecs.add(in.manifest.client(id));
        weights = o.weighting().weights(keptSpecs);
    }

    private static String nonFinite(Checkpoint c, Configuration conf) {
        try (RangeReader r = new RangeReader(conf)) {
            return ClientMoments.nonFiniteProblem(r, c);
        }
    }

    /** Executors, one task per module: the aggregate's factors to scratch, with its residual against the exact update. */
    private void aggregatePass(StagedOutput staged) {
        int i = 0;
        for (String m : adapters.modules()) {
            List<ClientModule> cms = new ArrayList<>();
            for (String id : kept) cms.add(adapters.byClient().get(id).get(m));
            tasks.add(new ModuleTask(m, cms, weights, staged.scratch("factors/" + (i++) + ".f32").toString()));
        }
        var conf = in.conf();
        LoraAggregator aggregator = agg;
        results = new ArrayList<>(in.jsc.parallelize(tasks, in.partitions(tasks.size()))
                .map(t -> aggregateModule(t, aggregator, conf.value().get())).collect());
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
        double[] coef = Arrays.copyOf(t.p(), pairs.size() + 1);
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

    /** One task: the aggregated factors into adapter/adapter_model.safetensors; then adapter_config.json. */
    private void writeAdapter(StagedOutput staged) throws IOException {
        Map<String, ModuleResult> byModule = new LinkedHashMap<>();
        for (ModuleResult r : results) byModule.put(r.module(), r);
        for (ModuleTask t : tasks) {
            ModuleResult r = byModule.get(t.module());
            TensorInfo shape = new TensorInfo(t.module() + ".weight", DType.F32, new long[] {r.out(), r.in()}, "(aggregate)", 0, 4L * r.out() * r.in());
            String name = t.module().substring("base_model.model.".length());
            outModules.add(new LoraModule(shape, name, r.r(), r.r() * r.scaling(), r.scaling(), false));
            factorFiles.put(name, t.file());
        }
        AdapterFiles.writeWeights(in.run, ADAPTER, outModules, factorFiles);
        staged.writeString(ADAPTER + PeftAdapterWriter.CONFIG, config(adapters.configs().get(kept.get(0))));
    }

    /** The first kept client's config; for rank-changing methods r, lora_alpha (= r, scaling 1) and the patterns. */
    private String config(JsonNode first) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
        ObjectNode c = first.deepCopy();
        c.put("init_lora_weights", true);
        if (!agg.keepsConfig()) {
            int r = 0;
            for (LoraModule m : outModules) r = Math.max(r, m.r());
            c.put("r", r);
            c.put("lora_alpha", r);
            c.put("use_rslora", false);
            ObjectNode rp = om.createObjectNode(), ap = om.createObjectNode();
            for (LoraModule m : outModules) {
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

    /**
     * {@code --merge-into BASE}: the base with the round's update added, W + s·B·A per targeted module (the residual
     * action with −s), written as a full checkpoint into {@code merged/} through the shard writer.
     */
    private void mergeIntoBase(StagedOutput staged) throws IOException {
        Checkpoint base = CheckpointCatalog.open(in.hconf, o.mergeInto());
        Map<String, LoraModule> byWeight = new LinkedHashMap<>();
        for (LoraModule m : outModules) byWeight.put(m.module() + ".weight", m);
        List<TransformPlanner.Planned> plans = ResidualPlan.of(base.tensors(), o.mergeInto(), byWeight, factorFiles, false, "merge", "W + s B A");
        ModelWriter.write(in.run, ModelWriter.Model.of(MERGED, plans, o.maxShardBytes(), ModelWriter.jobMetadata("fedavg-merge"), o.mergeInto(), null, null));
    }

    /** round_report.json: run facts, clients, and per module the aggregate's rank, scaling and residuals. */
    private Map<String, Object> writeReport(StagedOutput staged) throws IOException {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("job", "fedavg");
        run.put("kind", "lora");
        run.put("round", in.manifest.round());
        run.put("manifest", in.manifest.source());
        run.put("method", agg.describe());
        run.put("weighting", o.weighting().spelling());
        run.put("next_round_init", o.method().equals("lora-fair") || o.method().equals("fedit") || o.method().equals("ffa") ? ADAPTER : null);
        run.put("seconds", in.secondsSinceStart());
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
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("run", run);
        report.put("clients", in.clientRows(kept, weights));
        report.put("modules", mods);
        try (FSDataOutputStream os = staged.create(FedAvgJob.REPORT)) {
            Tables.writeJson(os, report);
        }
        staged.writeString(FedAvgJob.PAGE, io.weightlab.common.report.FedRoundReport.render(report, null));
        in.console.printf("[fedavg] %d of %d LoRA client(s) aggregated over %d module(s), %.1f s: %s%n", kept.size(), in.manifest.clients().size(),
                adapters.modules().size(), in.secondsSinceStart(), o.out());
        return report;
    }
}
