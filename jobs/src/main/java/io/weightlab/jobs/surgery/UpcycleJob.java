package io.weightlab.jobs.surgery;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.transform.AffineAction;
import io.weightlab.common.transform.AffineWithNoiseAction;
import io.weightlab.common.transform.ColumnBlockAction;
import io.weightlab.common.transform.EmbedAction;
import io.weightlab.common.transform.GroupedRowsAction;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorAction;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code weightlab upcycle}: a dense LLaMA/Mistral checkpoint into a Mixtral-style mixture of experts by the
 * virtual-group scheme of "Upcycling LLMs into MoE" (docs/algorithms.md §6.3): with granularity G, expert e holds FFN
 * shard e mod G (rows of gate/up, columns of down), the router's E/G random rows are each repeated G times, and
 * w1/w2/w3 are scaled by a^{1/3} with a = G (Mixtral renormalises the top-k weights, so a selected group of G
 * shards must add up to the dense FFN). G = 1 is plain replication (optionally with noise); then the MoE computes
 * exactly the dense function whatever the router. Attention, norms and embeddings are copied byte for byte.
 */
public final class UpcycleJob {
    public record Options(String input, String out, boolean overwrite, int experts, int granularity, int topK, double routerStd,
                          double noise, long seed, long maxShardBytes, Target target) {
        public Options(String input, String out, boolean overwrite, int experts, int granularity, int topK, double routerStd,
                       double noise, long seed, long maxShardBytes) {
            this(input, out, overwrite, experts, granularity, topK, routerStd, noise, seed, maxShardBytes, Target.MIXTRAL);
        }
    }

    /**
     * The MoE naming written. Both renormalise the top-k weights (Qwen2-MoE through norm_topk_prob = true), so a = G.
     * Qwen2-MoE also has a shared expert, written with random gate/up rows and a zero down projection and gate (so it
     * adds nothing until trained), and q/k/v biases, zero when the dense source has none.
     */
    public enum Target {
        MIXTRAL("block_sparse_moe.gate.weight", "block_sparse_moe.experts.%d.", "w1.weight", "w3.weight", "w2.weight"),
        QWEN2_MOE("mlp.gate.weight", "mlp.experts.%d.", "gate_proj.weight", "up_proj.weight", "down_proj.weight");

        final String router, expert, gate, up, down;

        Target(String router, String expert, String gate, String up, String down) {
            this.router = router;
            this.expert = expert;
            this.gate = gate;
            this.up = up;
            this.down = down;
        }
    }

    private static final Pattern QKV = Pattern.compile("^(model\\.layers\\.\\d+\\.self_attn\\.[qkv]_proj\\.)weight$");
    private static final Pattern MLP = Pattern.compile("^(model\\.layers\\.(\\d+)\\.)mlp\\.(gate|up|down)_proj\\.weight$");
    private static final Set<String> SUPPORTED = Set.of("llama", "mistral", "qwen2");

    private UpcycleJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the mixture of experts goes");
        int e = o.experts(), g = o.granularity(), k = o.topK();
        if (g < 1 || e < 1 || e % g != 0) throw new UsageException("--experts " + e + " must be a positive multiple of --granularity " + g + " (rule: ExpertsPerGroup)");
        if (k < 1 || k > e) throw new UsageException("--top-k must be in [1, experts]");
        if (o.noise() > 0 && g != 1) throw new UsageException("--noise applies to plain replication (--granularity 1), not to shards of the FFN");
        if (k % g != 0) throw new UsageException("--top-k " + k + " must be a multiple of --granularity " + g + ": top-k has to select whole groups (rule: WholeGroups)");
        try (JobRun run = JobRun.start("upcycle", sc, console)) {
            return run(run, o);
        }
    }

    private static Map<String, Object> run(JobRun job, Options o) {
        int e = o.experts(), g = o.granularity(), k = o.topK();
        Configuration hconf = job.hadoop();
        Checkpoint ckpt = CheckpointCatalog.open(hconf, o.input());
        ObjectNode config = denseConfig(hconf, o.input(), o.target());
        Target tg = o.target();
        long ffn = config.path("intermediate_size").asLong(), d = config.path("hidden_size").asLong();
        if (ffn % g != 0) throw new UsageException(o.input() + ": intermediate_size " + ffn + " is not divisible by --granularity " + g + " (rule: Granularity)");
        long shard = ffn / g;
        double scale = Math.cbrt(g); // GLU: fc1 and fc2 each by a^{1/3}, a = G
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        Map<String, TensorInfo[]> mlps = new LinkedHashMap<>();
        for (TensorInfo t : ckpt.tensors()) {
            Matcher m = MLP.matcher(t.name());
            if (m.matches()) mlps.computeIfAbsent(m.group(1), x -> new TensorInfo[3])[switch (m.group(3)) { case "gate" -> 0; case "up" -> 1; default -> 2; }] = t;
        }
        for (TensorInfo t : ckpt.tensors()) {
            Matcher m = MLP.matcher(t.name());
            if (!m.matches()) {
                plans.add(new TransformPlanner.Planned(t, "keep", KeepAction.INSTANCE, "copied", t.dtype()));
                Matcher a = QKV.matcher(t.name());
                if (tg == Target.QWEN2_MOE && a.matches() && ckpt.tensor(a.group(1) + "bias") == null) {
                    String b = a.group(1) + "bias"; // Qwen2 attention always has q/k/v biases: zero keeps the function
                    plans.add(fresh(b, t.dtype(), new long[] {t.dim(0)}, null, "bias", "zero bias", o.seed()));
                }
                continue;
            }
            if (!m.group(3).equals("gate")) continue; // the layer's experts are planned once, at its gate_proj
            String p = m.group(1);
            TensorInfo[] w = mlps.get(p);
            for (int i = 0; i < 3; i++) {
                if (w[i] == null) throw new UsageException(ckpt.root() + ": " + p + "mlp has no " + new String[] {"gate", "up", "down"}[i] + "_proj.weight (rule: GluMlp)");
            }
            if (w[0].dim(0) != ffn || w[0].dim(1) != d || w[1].dim(0) != ffn || w[2].dim(0) != d || w[2].dim(1) != ffn) {
                throw new UsageException(ckpt.root() + ": " + p + "mlp shapes disagree with config.json (intermediate " + ffn + ", hidden " + d + ")");
            }
            String router = p + tg.router;
            plans.add(TransformPlanner.Planned.computed(router, w[0].dtype(), new long[] {e, d}, "router",
                    new GroupedRowsAction(o.seed(), router, Samplers.normal(o.routerStd()), d, g), "router, rows shared by groups of " + g));
            for (int x = 0; x < e; x++) {
                int s = x % g;
                String q = p + String.format(tg.expert, x);
                plans.add(rows(w[0], q + tg.gate, s, shard, scale, o));
                plans.add(rows(w[1], q + tg.up, s, shard, scale, o));
                plans.add(down(w[2], q + tg.down, s, shard, scale, o, g));
            }
            if (tg == Target.QWEN2_MOE) {
                String q = p + "mlp.shared_expert.";
                for (String n : new String[] {"gate_proj.weight", "up_proj.weight"}) {
                    plans.add(fresh(q + n, w[0].dtype(), new long[] {shard, d}, Samplers.normal(o.routerStd()), "shared expert", "random input side", o.seed()));
                }
                plans.add(fresh(q + "down_proj.weight", w[0].dtype(), new long[] {d, shard}, null, "shared expert", "zero output side", o.seed()));
                String sg = p + "mlp.shared_expert_gate.weight";
                plans.add(fresh(sg, w[0].dtype(), new long[] {1, d}, null, "shared expert", "zero gate", o.seed()));
            }
        }
        if (mlps.isEmpty()) throw new UsageException(ckpt.root() + ": no model.layers.N.mlp.{gate,up,down}_proj.weight to upcycle (rule: GluMlp)");
        if (tg == Target.MIXTRAL) {
            config.put("model_type", "mixtral");
            config.set("architectures", new ObjectMapper().createArrayNode().add("MixtralForCausalLM"));
            config.put("intermediate_size", shard);
            config.put("num_local_experts", e);
            config.put("router_jitter_noise", 0.0);
        } else {
            config.put("model_type", "qwen2_moe");
            config.set("architectures", new ObjectMapper().createArrayNode().add("Qwen2MoeForCausalLM"));
            config.put("num_experts", e);
            config.put("moe_intermediate_size", shard);
            config.put("shared_expert_intermediate_size", shard);
            config.put("norm_topk_prob", true);
            config.put("decoder_sparse_step", 1);
            config.set("mlp_only_layers", new ObjectMapper().createArrayNode());
            config.put("use_sliding_window", false);
        }
        config.put("num_experts_per_tok", k);
        config.put("output_router_logits", false);
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), ModelWriter.jobMetadata("upcycle"), o.input(), null, config);
        job.console().printf("[upcycle] %s: %d layer(s) to %d experts (granularity %d, top-%d, scale %.6g), %d tensors in %d shard(s)%n", ckpt.root(),
                mlps.size(), e, g, k, scale, plans.size(), model.plan().shards().size());
        job.output(o.out(), JobRun.Output.REQUIRED, "where the mixture of experts goes", o.overwrite());
        return job.commitAfter("the upcycled checkpoint", () -> {
            var shards = ModelWriter.write(job, model).shards();
            Map<String, Object> run = job.facts();
            run.put("input", ckpt.root());
            run.put("target", tg.name().toLowerCase(java.util.Locale.ROOT));
            run.put("experts", e);
            run.put("granularity", g);
            run.put("top_k", k);
            run.put("weight_scale", scale);
            run.put("router_std", o.routerStd());
            run.put("noise", o.noise());
            run.put("seed", o.seed());
            run.put("shards", shards.size());
            run.put("seconds", job.seconds());
            ModelWriter.writeProvenance(job.staged(), run, "tensors", ModelWriter.planRows(plans));
            job.console().printf("[upcycle] wrote %s in %.1f s%n", o.out(), job.seconds());
            return run;
        });
    }

    /** Rows [s·n, (s+1)·n) of a [ffn, d] gate/up projection: a contiguous byte range of the source. */
    private static TransformPlanner.Planned rows(TensorInfo w, String name, int s, long n, double scale, Options o) {
        long rowBytes = w.dtype().byteLength(w.dim(1));
        long begin = w.dataBegin() + s * n * rowBytes;
        TensorInfo view = new TensorInfo(name, w.dtype(), new long[] {n, w.dim(1)}, w.file(), begin, begin + n * rowBytes);
        return new TransformPlanner.Planned(view, "expert", action(scale, o, name), w.name() + " rows " + s * n + ".." + (s + 1) * n, w.dtype());
    }

    /** Columns [s·n, (s+1)·n) of the [d, ffn] down projection (the whole tensor when G = 1). */
    private static TransformPlanner.Planned down(TensorInfo w, String name, int s, long n, double scale, Options o, int g) {
        if (g == 1) {
            TensorInfo view = new TensorInfo(name, w.dtype(), w.shape(), w.file(), w.dataBegin(), w.dataEnd());
            return new TransformPlanner.Planned(view, "expert", action(scale, o, name), w.name(), w.dtype());
        }
        return TransformPlanner.Planned.computed(name, w.dtype(), new long[] {w.dim(0), n}, "expert", new ColumnBlockAction(w, s * n, n, scale),
                w.name() + " columns " + s * n + ".." + (s + 1) * n);
    }

    private static TensorAction action(double scale, Options o, String name) {
        if (o.noise() > 0) return new AffineWithNoiseAction(scale, o.noise(), o.seed(), name);
        return scale == 1.0 ? KeepAction.INSTANCE : new AffineAction(scale, 0);
    }

    /** A tensor the dense source does not have: {@code fill} draws (null: zeros) from the seed and its name. */
    private static TransformPlanner.Planned fresh(String name, io.weightlab.common.model.DType dtype, long[] shape, io.weightlab.common.transform.Sampler fill,
                                                  String rule, String why, long seed) {
        return TransformPlanner.Planned.computed(name, dtype, shape, rule, new EmbedAction(null, shape, fill, 0, seed, name), why);
    }

    private static ObjectNode denseConfig(Configuration conf, String input, Target target) {
        ObjectNode n = CheckpointSiblings.modelConfig(conf, input);
        if (!SUPPORTED.contains(n.path("model_type").asText())) {
            throw new UsageException(input + ": config.json model_type '" + n.path("model_type").asText() + "' is not a dense LLaMA/Mistral/Qwen2 decoder"
                    + " (rule: DenseDecoder)");
        }
        boolean qkvBias = n.path("model_type").asText().equals("qwen2") || n.path("attention_bias").asBoolean(false);
        if (n.path("mlp_bias").asBoolean(false) || (qkvBias && target == Target.MIXTRAL)) {
            throw new UsageException(input + ": " + (qkvBias ? "q/k/v biases have no place in Mixtral (use --target qwen2_moe)" : "MLP biases have no place in an MoE")
                    + " (rule: DenseDecoder)");
        }
        long heads = n.path("num_attention_heads").asLong(1);
        if (target == Target.QWEN2_MOE && n.has("head_dim") && n.path("head_dim").asLong() * heads != n.path("hidden_size").asLong()) {
            throw new UsageException(input + ": head_dim x heads != hidden_size, which Qwen2-MoE cannot express (rule: DenseDecoder)");
        }
        return n;
    }
}
