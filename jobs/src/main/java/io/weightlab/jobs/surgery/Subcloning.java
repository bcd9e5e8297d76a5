package io.weightlab.jobs.surgery;

import io.weightlab.jobs.spark.SerializableConfiguration;

import io.weightlab.common.surgery.SubclonePlan;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The measuring half of weight subcloning (the plan is {@link SubclonePlan}'s): weight subcloning ("Weight subcloning: direct initialization of transformers using larger pretrained ones",
 * docs/algorithms.md §6.5) for LLaMA-style decoders: one ranking of the residual-stream (hidden) dimensions shared by
 * every layer, one ranking of FFN neurons per layer, the kept blocks spread evenly over the depth (first and last
 * kept), and the matrices that read the narrowed residual stream (q/k/v, gate/up) scaled by √(D/d) [the scaling is
 * the paper's, unverified against code]. Dimensions are kept in order of importance, so with nothing removed the
 * student is a permutation of the teacher and computes the same function.
 * Importance: E[x²] of the modules' inputs from activation statistics (docs/activation-stats.md), the RMS the
 * paper's mean |activation| stands in for; without statistics, the labelled weight-norm proxy: squared norms of
 * the columns that read a dimension and the rows that write it.
 */
final class Subcloning {
    private static final String HIDDEN = "hidden";

    /** A teacher matrix for the weight-norm proxy: which importance its column norms and its row norms add to (null: none). */
    record ProxyTask(TensorInfo weight, String columnsOf, String rowsOf) implements Serializable {
        record Norms(ProxyTask task, double[] columns, double[] rows) implements Serializable {}
    }

    private Subcloning() {}

    /** Per teacher layer: the input statistics of q_proj (or k/v) and gate_proj (or up), and down_proj's. */
    static SubclonePlan.Importance importance(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, Checkpoint teacher, int layers, long hidden,
                                 String activations, Configuration hconf) {
        Map<String, double[]> parts = new HashMap<>(); // "hidden" or "ffn<l>" -> importance, summed over its sources
        int slots = 4 * jsc.defaultParallelism();
        if (activations != null) {
            Checkpoint act = CheckpointCatalog.open(hconf, activations);
            List<Tuple2<String, TensorInfo[]>> work = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                work.add(new Tuple2<>(HIDDEN, stats(act, p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj")));
                work.add(new Tuple2<>(HIDDEN, stats(act, p + "mlp.gate_proj", p + "mlp.up_proj")));
                work.add(new Tuple2<>("ffn" + l, stats(act, p + "mlp.down_proj")));
            }
            for (Tuple2<String, double[]> t : jsc.parallelize(work, Math.max(1, Math.min(work.size(), slots)))
                    .map(w -> new Tuple2<>(w._1(), meanSquare(w._2(), conf.value().get()))).collect()) {
                parts.merge(t._1(), t._2(), Subcloning::add);
            }
        } else {
            // Each matrix is read once for both of its norms: the dimension its columns read and the one its rows write.
            List<ProxyTask> work = new ArrayList<>();
            work.add(new ProxyTask(weight(teacher, "model.embed_tokens"), HIDDEN, null));
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".", f = "ffn" + l;
                for (String m : new String[] {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}) work.add(new ProxyTask(weight(teacher, p + m), HIDDEN, null));
                work.add(new ProxyTask(weight(teacher, p + "self_attn.o_proj"), null, HIDDEN));
                work.add(new ProxyTask(weight(teacher, p + "mlp.gate_proj"), HIDDEN, f));
                work.add(new ProxyTask(weight(teacher, p + "mlp.up_proj"), HIDDEN, f));
                work.add(new ProxyTask(weight(teacher, p + "mlp.down_proj"), f, HIDDEN));
            }
            for (ProxyTask.Norms n : jsc.parallelize(work, Math.max(1, Math.min(work.size(), slots))).map(w -> norms(w, conf.value().get())).collect()) {
                if (n.task().columnsOf() != null) parts.merge(n.task().columnsOf(), n.columns(), Subcloning::add);
                if (n.task().rowsOf() != null) parts.merge(n.task().rowsOf(), n.rows(), Subcloning::add);
            }
        }
        Map<Integer, double[]> ffn = new HashMap<>();
        for (int l = 0; l < layers; l++) ffn.put(l, parts.get("ffn" + l));
        double[] h = parts.get(HIDDEN);
        if (h == null || h.length != hidden) {
            throw new UsageException((activations != null ? activations : teacher.root()) + ": the residual-stream importance has width "
                    + (h == null ? 0 : h.length) + ", the teacher's hidden_size is " + hidden + " (rule: ActivationStatsShape)");
        }
        return new SubclonePlan.Importance(h, ffn, activations != null ? "E[x^2] of module inputs from " + activations : "weight-norm proxy (no activation statistics given)");
    }

    private static TensorInfo weight(Checkpoint c, String module) {
        TensorInfo t = c.tensor(module + ".weight");
        if (t == null) throw new UsageException(c.root() + ": no '" + module + ".weight' (subcloning needs a LLaMA/Mistral decoder)");
        return t;
    }

    /** The first module of the list that has statistics: its count, mean (or sum) and m2 (or xtx). */
    private static TensorInfo[] stats(Checkpoint act, String... modules) {
        for (String m : modules) {
            TensorInfo n = act.tensor(m + ".count");
            if (n == null) continue;
            TensorInfo mean = act.tensor(m + ".mean"), m2 = act.tensor(m + ".m2");
            if (mean != null && m2 != null) return new TensorInfo[] {n, mean, m2, null};
            TensorInfo sum = act.tensor(m + ".sum"), xtx = act.tensor(m + ".xtx");
            if (sum != null && xtx != null) return new TensorInfo[] {n, sum, null, xtx};
        }
        throw new UsageException(act.root() + ": no activation statistics for any of " + Arrays.toString(modules) + " (rule: ActivationStatsPresent)");
    }

    /** On an executor: E[x_j²] = m2_jj / N + μ_j² (or xtx_jj / N), reading only the diagonal. */
    private static double[] meanSquare(TensorInfo[] s, Configuration conf) {
        try (RangeReader r = new RangeReader(conf)) {
            double n = TensorValues.read(r, s[0], 0, 1, null)[0];
            double[] v = TensorValues.read(r, s[1], 0, s[1].elementCount(), null);
            TensorInfo sq = s[2] != null ? s[2] : s[3];
            int in = v.length;
            double[] out = new double[in];
            for (int j = 0; j < in; j++) {
                double diag = TensorValues.read(r, sq, (long) j * in + j, (long) j * in + j + 1, null)[0];
                out[j] = s[2] != null ? diag / n + v[j] * v[j] : diag / n;
            }
            return out;
        }
    }

    /** On an executor: squared column norms (the dims a matrix reads) and row norms (the dims it writes), in one read. */
    private static ProxyTask.Norms norms(ProxyTask task, Configuration conf) {
        TensorInfo t = task.weight();
        int rows = (int) t.dim(0), cols = (int) t.dim(1);
        double[] c = new double[cols], r = new double[rows];
        try (RangeReader reader = new RangeReader(conf)) {
            for (int i = 0; i < rows; i++) {
                double[] row = TensorValues.read(reader, t, (long) i * cols, (long) (i + 1) * cols, null);
                for (int j = 0; j < cols; j++) {
                    double q = row[j] * row[j];
                    c[j] += q;
                    r[i] += q;
                }
            }
        }
        return new ProxyTask.Norms(task, c, r);
    }

    private static double[] add(double[] a, double[] b) {
        if (a.length != b.length) throw new UsageException("importance vectors of different widths (" + a.length + ", " + b.length + ")");
        double[] c = a.clone();
        for (int i = 0; i < c.length; i++) c[i] += b[i];
        return c;
    }
}
