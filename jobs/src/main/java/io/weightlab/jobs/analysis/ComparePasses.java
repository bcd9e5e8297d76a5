package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.SerializableConfiguration;

import io.weightlab.common.compare.DeltaRank;
import io.weightlab.common.compare.PairSums;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.LowRankSpectrum;
import io.weightlab.common.lora.LoraDelta;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.MomentAccumulator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The computation of {@code compare} over any list of tensor pairs, shared by {@link CompareJob} (one reference, a
 * series) and {@link FleetCompareJob} (each checkpoint of a fleet against its own reference): every pair carries its
 * reference tensor, so pairs of many comparisons run in the same two passes. Pass 1 (slices on executors): moments of
 * both and ⟨W_0, W_t⟩; pass 2: ‖Ŵ_t − Ŵ_0‖² with tensor and layer norms, and ‖W_t − W_0‖²; then one task per matrix
 * takes the singular values of ΔW (LAPACK, double). Rows per tensor and per layer of each comparison.
 */
final class ComparePasses {
    /**
     * A reference tensor {@code a} and the compared tensor {@code b} of comparison {@code ckpt}; with {@code lora}, b is
     * the reference's tensor merged with that module. Layer sums are per (ckpt, block).
     */
    record Pair(int ckpt, TensorInfo a, TensorInfo b, String block, AdapterSpectrum.ModuleTask lora) implements Serializable {}

    /** How the numbers are computed: the ranks of ΔW (on request, under a budget) and the slice size. */
    record Settings(boolean deltaRank, double[] tolerances, long maxExactBytes, long sliceBytes) {}

    /** Per-tensor rows in pair order, per-layer rows in order of first appearance. */
    record Rows(List<Map<String, Object>> tensors, List<Map<String, Object>> layers) {}

    private record Unit(int index, int pair, long first, long end) implements Serializable {}

    private record Norms(double na, double nb, double ba, double bb) implements Serializable {}

    private ComparePasses() {}

    /** Whether a reference tensor is compared: decodable floating, analysable, non-empty; vectors only with biases. */
    static boolean compared(TensorInfo a, boolean includeBiases) {
        TensorName n = TensorName.parse(a.name());
        if (!a.dtype().isFloatingPoint() || !a.dtype().isDecodable() || !n.isAnalysable() || a.rank() == 0 || a.elementCount() == 0) return false;
        return a.rank() != 1 || includeBiases;
    }

    static String block(TensorInfo a) {
        TensorName n = TensorName.parse(a.name());
        return n.layer() == null ? a.name() : n.layerKey();
    }

    /**
     * Pairs of the reference and checkpoint {@code c} (labelled {@code label} in the mismatches): same name, floating,
     * same shape; kernels (rank >= 2) and, on request, vectors. Everything else is a mismatch (rule SameTensors).
     */
    static void join(Checkpoint ref, Checkpoint ck, int c, String label, boolean includeBiases, List<Pair> pairs, List<Map<String, Object>> mismatches) {
        for (TensorInfo a : ref.tensors()) {
            if (!compared(a, includeBiases)) continue;
            TensorInfo b = ck.tensor(a.name());
            String why = b == null ? "is not in this checkpoint"
                    : !Arrays.equals(a.shape(), b.shape()) ? "has shape " + b.shapeString() + " here but " + a.shapeString() + " in the reference"
                    : !b.dtype().isFloatingPoint() || !b.dtype().isDecodable() ? "is " + b.dtype() + " here, not a decodable floating type" : null;
            if (why != null) {
                mismatches.add(Map.of("checkpoint", label, "name", a.name(), "why", why));
                continue;
            }
            pairs.add(new Pair(c, a, b, block(a), null));
        }
        for (TensorInfo b : ck.tensors()) {
            if (ref.tensor(b.name()) == null && b.dtype().isFloatingPoint() && (b.rank() >= 2 || (b.rank() == 1 && includeBiases))) {
                mismatches.add(Map.of("checkpoint", label, "name", b.name(), "why", "is not in the reference"));
            }
        }
    }

    /**
     * The rows of every pair. {@code head} gives the leading columns of a row of comparison c (the same for its
     * tensor and layer rows). Slices are merged on the driver in slice order, so every number is the same however
     * the work was split and whatever other pairs share the job.
     */
    static Rows compute(JobRun job, List<Pair> pairs, Settings s, IntFunction<Map<String, Object>> head) {
        JavaSparkContext jsc = job.jsc();
        List<Unit> units = new ArrayList<>();
        for (int p = 0; p < pairs.size(); p++) {
            long n = pairs.get(p).a().elementCount();
            long step = Math.max(1, Math.min(CompareJob.MAX_SLICE_ELEMENTS, s.sliceBytes() / Math.max(1, pairs.get(p).a().dtype().byteSize())));
            for (long f = 0; f < n; f += step) units.add(new Unit(units.size(), p, f, Math.min(n, f + step)));
        }
        Broadcast<SerializableConfiguration> conf = job.conf();
        Broadcast<List<Pair>> pairsB = jsc.broadcast(pairs);
        int parts = Math.max(1, Math.min(units.size(), 4 * jsc.defaultParallelism()));
        try {
            PairSums[] first = mergeInOrder(pairs.size(), units, jsc.parallelize(units, parts)
                    .map(u -> new Tuple2<>(u.index(), pass(u, pairsB.value().get(u.pair()), null, conf.value().get()))).collect());
            Map<String, double[]> blockSq = new HashMap<>();
            for (int p = 0; p < pairs.size(); p++) {
                double[] bs = blockSq.computeIfAbsent(pairs.get(p).ckpt() + "\u0000" + pairs.get(p).block(), k -> new double[2]);
                bs[0] += first[p].a.l2() * first[p].a.l2();
                bs[1] += first[p].b.l2() * first[p].b.l2();
            }
            List<Norms> norms = new ArrayList<>();
            for (int p = 0; p < pairs.size(); p++) {
                double[] bs = blockSq.get(pairs.get(p).ckpt() + "\u0000" + pairs.get(p).block());
                norms.add(new Norms(first[p].a.l2(), first[p].b.l2(), Math.sqrt(bs[0]), Math.sqrt(bs[1])));
            }
            Broadcast<List<Norms>> normsB = jsc.broadcast(norms);
            PairSums[] second = mergeInOrder(pairs.size(), units, jsc.parallelize(units, parts)
                    .map(u -> new Tuple2<>(u.index(), pass(u, pairsB.value().get(u.pair()), normsB.value().get(u.pair()), conf.value().get()))).collect());
            normsB.destroy();
            Map<Integer, Map<String, Object>> ranks = s.deltaRank() ? ranks(job, pairs, pairsB, s) : Map.of();
            return rows(pairs, norms, first, second, ranks, head);
        } finally {
            pairsB.destroy();
        }
    }

    /** The ranks of ΔW per matrix pair: one task each, dense ones only under the budget (else a status saying why). */
    private static Map<Integer, Map<String, Object>> ranks(JobRun job, List<Pair> pairs, Broadcast<List<Pair>> pairsB, Settings s) {
        JavaSparkContext jsc = job.jsc();
        Broadcast<SerializableConfiguration> conf = job.conf();
        Map<Integer, Map<String, Object>> ranks = new HashMap<>();
        long budget = s.maxExactBytes() > 0 ? s.maxExactBytes() : io.weightlab.jobs.spark.TaskBudget.exactBytes(jsc.sc());
        List<Integer> matrices = new ArrayList<>();
        for (int p = 0; p < pairs.size(); p++) {
            TensorInfo a = pairs.get(p).a();
            if (a.rank() >= 2 && a.dim(0) >= 2 && a.elementCount() / a.dim(0) >= 2) {
                // an adapter's ΔW comes from its factors, an untouched tensor's is zero: no dense matrix either way
                if (pairs.get(p).lora() != null || pairs.get(p).a() == pairs.get(p).b() || a.elementCount() * 8 <= budget && a.elementCount() < Integer.MAX_VALUE) matrices.add(p);
                else ranks.put(p, Map.of("delta_rank_status", "not computed: " + Format.bytes(a.elementCount() * 8)
                        + " as float64 is over --max-exact-mb " + Format.bytes(budget)));
            }
        }
        double[] tol = s.tolerances();
        ranks.putAll(jsc.parallelize(matrices, Math.max(1, matrices.size()))
                .mapToPair(p -> new Tuple2<>(p, deltaRank(pairsB.value().get(p), tol, conf.value().get()))).collectAsMap());
        return ranks;
    }

    private static Rows rows(List<Pair> pairs, List<Norms> norms, PairSums[] first, PairSums[] second, Map<Integer, Map<String, Object>> ranks,
                             IntFunction<Map<String, Object>> head) {
        List<Map<String, Object>> tensorRows = new ArrayList<>();
        Map<String, Map<String, Object>> layerRows = new LinkedHashMap<>();
        for (int p = 0; p < pairs.size(); p++) {
            Pair pr = pairs.get(p);
            Norms nm = norms.get(p);
            TensorName tn = TensorName.parse(pr.a().name());
            Map<String, Object> row = new LinkedHashMap<>(head.apply(pr.ckpt()));
            row.put("name", pr.a().name());
            row.put("layer", tn.layerKey());
            row.put("module_kind", tn.kind().label());
            row.put("shape", pr.a().shapeList());
            row.put("rotation", PairSums.rotation(second[p].unitDiffSq, nm.na(), nm.nb()));
            row.put("norm_ref", nm.na());
            row.put("norm", nm.nb());
            row.put("rel_norm_change", nm.na() > 0 ? nm.nb() / nm.na() - 1 : Double.NaN);
            row.put("rel_delta", nm.na() > 0 ? Math.sqrt(second[p].diffSq) / nm.na() : Double.NaN);
            shift(row, first[p].a, first[p].b);
            Map<String, Object> rk = ranks.get(p);
            if (rk != null) row.putAll(rk);
            tensorRows.add(row);

            Map<String, Object> lr = layerRows.computeIfAbsent(pr.ckpt() + "\u0000" + pr.block(), k -> {
                Map<String, Object> r = new LinkedHashMap<>(head.apply(pr.ckpt()));
                r.put("layer", pr.block());
                r.put("layer_index", tn.layer()); // always a column (null outside numbered blocks): CSV headers come from the first row
                r.put("tensors", 0);
                r.put("block_unit_diff_sq", 0.0);
                r.put("diff_sq", 0.0);
                r.put("norm_ref", nm.ba());
                r.put("norm", nm.bb());
                return r;
            });
            lr.put("tensors", (Integer) lr.get("tensors") + 1);
            lr.put("block_unit_diff_sq", (Double) lr.get("block_unit_diff_sq") + second[p].blockUnitDiffSq);
            lr.put("diff_sq", (Double) lr.get("diff_sq") + second[p].diffSq);
        }
        List<Map<String, Object>> layers = new ArrayList<>();
        for (Map<String, Object> lr : layerRows.values()) {
            double na = (Double) lr.get("norm_ref"), nb = (Double) lr.get("norm");
            lr.put("rotation", PairSums.rotation((Double) lr.remove("block_unit_diff_sq"), na, nb));
            lr.put("rel_delta", na > 0 ? Math.sqrt((Double) lr.remove("diff_sq")) / na : Double.NaN);
            lr.remove("diff_sq");
            layers.add(lr);
        }
        return new Rows(tensorRows, layers);
    }

    private static PairSums pass(Unit u, Pair p, Norms n, Configuration conf) {
        double[] x, y;
        try (RangeReader r = new RangeReader(conf)) {
            x = TensorValues.read(r, p.a(), u.first(), u.end(), null);
            y = p.b() == p.a() ? x.clone() : TensorValues.read(r, p.b(), u.first(), u.end(), null);
            if (p.lora() != null) delta(r, p.lora()).addTo(y, u.first(), u.end());
        }
        return n == null ? PairSums.first(x, y) : PairSums.second(x, y, n.na(), n.nb(), n.ba(), n.bb());
    }

    private static PairSums[] mergeInOrder(int pairs, List<Unit> units, List<Tuple2<Integer, PairSums>> results) {
        PairSums[] byUnit = new PairSums[units.size()];
        for (Tuple2<Integer, PairSums> t : results) byUnit[t._1()] = t._2();
        PairSums[] out = new PairSums[pairs];
        for (Unit u : units) out[u.pair()] = out[u.pair()] == null ? byUnit[u.index()] : out[u.pair()].merge(byUnit[u.index()]);
        return out;
    }

    /** A module's factors (finite, rule FiniteValues) as the update to add to its base weight's values. */
    private static LoraDelta delta(RangeReader r, AdapterSpectrum.ModuleTask m) {
        return new LoraDelta(LoraModule.readFinite(r, m.b()), LoraModule.readFinite(r, m.a()), m.out(), m.r(), m.in(), m.scaling(), m.fanInFanOut());
    }

    /**
     * On an executor: ΔW as [rows, rest] in double, its singular values, the ranks. An adapter's ΔW = s·B·A from its
     * factors (thin QRs, §17.2: its r nonzero values, exact), an untouched tensor's is zero.
     */
    private static Map<String, Object> deltaRank(Pair p, double[] tolerances, Configuration conf) {
        int rows = (int) p.a().dim(0), cols = (int) (p.a().elementCount() / rows);
        if (p.lora() != null || p.a() == p.b()) {
            double[] sv = new double[0];
            double eps = DeltaRank.epsilon(p.a().dtype());
            if (p.lora() != null) {
                AdapterSpectrum.ModuleTask m = p.lora();
                try (RangeReader r = new RangeReader(conf)) {
                    LoraDelta d = delta(r, m);
                    sv = LowRankSpectrum.singularValues(d.b(), m.out(), m.r(), d.a(), m.in(), m.scaling());
                }
                eps = DeltaRank.epsilon(p.a().dtype(), m.a().dtype());
            }
            Map<String, Object> out = new LinkedHashMap<>(DeltaRank.of(sv, rows, cols, tolerances, eps));
            out.put("delta_rank_status", "ok");
            return out;
        }
        double[] x, y;
        try (RangeReader r = new RangeReader(conf)) {
            x = TensorValues.read(r, p.a(), 0, p.a().elementCount(), null);
            y = TensorValues.read(r, p.b(), 0, p.b().elementCount(), null);
        }
        for (int i = 0; i < x.length; i++) {
            y[i] -= x[i];
            if (!Double.isFinite(y[i])) return Map.of("delta_rank_status", "not computed: NaN/Inf in ΔW");
        }
        Map<String, Object> m = new LinkedHashMap<>(DeltaRank.of(Lapack.singularValues(y, rows, cols), rows, cols, tolerances,
                DeltaRank.epsilon(p.a().dtype(), p.b().dtype())));
        m.put("delta_rank_status", "ok");
        return m;
    }

    /** Distribution shift: std, excess kurtosis and the moment estimate of the GG shape, reference and compared. */
    private static void shift(Map<String, Object> row, MomentAccumulator a, MomentAccumulator b) {
        row.put("std_ref", a.stdPopulation());
        row.put("std", b.stdPopulation());
        row.put("kurtosis_excess_ref", a.excessKurtosis());
        row.put("kurtosis_excess", b.excessKurtosis());
        row.put("gg_beta_ref", a.count() > 3 ? GeneralizedGaussian.betaFromKurtosis(a.excessKurtosis()) : Double.NaN);
        row.put("gg_beta", b.count() > 3 ? GeneralizedGaussian.betaFromKurtosis(b.excessKurtosis()) : Double.NaN);
    }
}
