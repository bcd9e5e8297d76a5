package io.weightlab.jobs.weights;

import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.merge.MergeStats;
import io.weightlab.common.merge.ScreenAlpha;
import io.weightlab.common.merge.ScreenMetrics;
import io.weightlab.common.merge.TensorMerge;
import io.weightlab.common.merge.TopK;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.jobs.spark.JobRun;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The distributed passes of a merge screen. Every pass is one Spark stage over units of tensor slices in which a
 * task reads the base's and every model's slice once per step and hands each candidate its own copies: the measuring
 * passes {@code merge} runs (finite checks, DARE's L1 norms, SLERP's dots, model_stock's Gram, the top-k searches'
 * histograms and tie counts) run for all candidates together, then the final pass merges each step for every
 * candidate ({@code MergeMethod.merge}, as {@code MergeAction} does) and accumulates {@link ScreenMetrics} (with
 * {@code --spectra}, Δ's singular values of a matrix screened whole; with {@code --spectra-alpha}, the merged matrix's α). The reads
 * are counted per pass ({@link #reads}) so a run records that they do not grow with the number of candidates.
 */
final class ScreenPasses {
    /** Per pass: its kind, reads of one source's step, values read. */
    record PassReads(String kind, long reads, long values) {}

    private final JobRun run;
    private final ScreenPlan plan;
    final List<PassReads> reads = new ArrayList<>();
    int partialCuts;

    ScreenPasses(JobRun run, ScreenPlan plan) {
        this.run = run;
        this.plan = plan;
    }

    /** What one task returns: its partials and how much it read. */
    static final class Part implements Serializable {
        MergeStats[] stats;             // measuring passes: per candidate (null when not measured)
        long[][][][] equal;             // tie counts: [candidate][input][cut][UNIT block]
        ScreenMetrics[] metrics;        // final pass: per candidate
        ScreenMetrics.Sources sources;  // final pass
        long[] nonFinite, firstNonFinite;
        long first, reads, values;
    }

    /** Reads every source's elements [from, from + len) once. */
    private static double[][] readSources(RangeReader r, TensorInfo[] ts, long from, int len, Part p) {
        double[][] v = new double[ts.length][];
        for (int k = 0; k < ts.length; k++) v[k] = TensorValues.read(r, ts[k], from, from + len, null);
        p.reads += ts.length;
        p.values += (long) ts.length * len;
        return v;
    }

    /** Candidate c's inputs for one step: copies, as the method may overwrite them. */
    private static double[][] inputs(ScreenPlan plan, int c, double[][] src, int len) {
        int[] idx = plan.inputsOf.get(c);
        double[][] xs = new double[idx.length][];
        for (int i = 0; i < idx.length; i++) xs[i] = java.util.Arrays.copyOf(src[idx[i]], len);
        return xs;
    }

    // ---- the measuring passes ----

    void measure() {
        List<String> all = new ArrayList<>(plan.tensors.keySet());
        Map<String, Part> first = measurePass(all, true);
        for (Map.Entry<String, Part> e : first.entrySet()) {
            checkFinite(e.getKey(), e.getValue());
            for (int c = 0; c < plan.candidates(); c++) {
                MergeStats s = e.getValue().stats[c].finish();
                TensorMerge m = plan.merges.get(c).get(e.getKey());
                s.copyFirstPassInto(m);
            }
        }
        advance(first);
        while (true) {
            List<String> open = new ArrayList<>();
            for (String t : plan.tensors.keySet()) if (anyOpen(t)) open.add(t);
            if (open.isEmpty()) break;
            advance(measurePass(open, false));
        }
        equalCounts();
        for (int c = 0; c < plan.candidates(); c++) {
            for (Map.Entry<String, TopK.Search[][]> e : plan.searches.get(c).entrySet()) {
                TopK.Search[][] s = e.getValue();
                TopK.Cut[][] cuts = new TopK.Cut[s.length][];
                for (int i = 0; i < s.length; i++) {
                    cuts[i] = new TopK.Cut[s[i].length];
                    for (int k = 0; k < s[i].length; k++) cuts[i][k] = s[i][k].cut();
                }
                plan.merges.get(c).get(e.getKey()).cuts = cuts;
            }
        }
    }

    private boolean open(int c, String t) {
        TopK.Search[][] s = plan.searches.get(c).get(t);
        if (s == null) return false;
        for (TopK.Search[] a : s) for (TopK.Search x : a) if (!x.done()) return true;
        return false;
    }

    private boolean anyOpen(String t) {
        for (int c = 0; c < plan.candidates(); c++) if (open(c, t)) return true;
        return false;
    }

    private void advance(Map<String, Part> parts) {
        for (Map.Entry<String, Part> e : parts.entrySet()) {
            for (int c = 0; c < plan.candidates(); c++) {
                MergeStats st = e.getValue().stats[c];
                TopK.Search[][] s = plan.searches.get(c).get(e.getKey());
                if (st == null || s == null) continue;
                for (int i = 0; i < s.length; i++) for (int k = 0; k < s[i].length; k++) if (st.hist[i][k] != null) s[i][k].advance(st.hist[i][k]);
            }
        }
    }

    /** One measuring pass over {@code tensors}: per tensor, every candidate's merged {@link MergeStats}. */
    private Map<String, Part> measurePass(List<String> tensors, boolean full) {
        List<ScreenPlan.Unit> units = plan.units(tensors, false);
        JavaSparkContext jsc = run.jsc();
        var conf = run.conf();
        Broadcast<ScreenPlan> b = jsc.broadcast(plan);
        try {
            List<Tuple2<String, Part>> out = jsc.parallelize(units, partitions(jsc, units.size())).mapToPair(u -> {
                ScreenPlan p = b.value();
                try (RangeReader r = new RangeReader(conf.value().get())) {
                    return new Tuple2<>(u.tensor(), measureUnit(p, r, u, full));
                }
            }).reduceByKey(ScreenPasses::mergeMeasured).collect();
            Map<String, Part> res = new LinkedHashMap<>();
            long reads = 0, values = 0;
            for (Tuple2<String, Part> t : out) {
                res.put(t._1(), t._2());
                reads += t._2().reads;
                values += t._2().values;
            }
            this.reads.add(new PassReads(full ? "measure" : "top-k", reads, values));
            return res;
        } finally {
            b.destroy();
        }
    }

    private static Part measureUnit(ScreenPlan p, RangeReader r, ScreenPlan.Unit u, boolean full) {
        int nc = p.candidates();
        TensorInfo[] ts = p.tensors.get(u.tensor());
        Part part = new Part();
        part.stats = new MergeStats[nc];
        part.nonFinite = new long[ts.length];
        part.firstNonFinite = new long[ts.length];
        java.util.Arrays.fill(part.firstNonFinite, -1);
        boolean[] active = new boolean[nc];
        for (int c = 0; c < nc; c++) {
            TensorMerge m = p.merges.get(c).get(u.tensor());
            TopK.Search[][] s = p.searches.get(c).get(u.tensor());
            active[c] = full || (s != null && openSearch(s));
            if (active[c]) part.stats[c] = new MergeStats(m.inputs, s);
        }
        for (long from = u.first(); from < u.first() + u.count(); from += u.step()) {
            int len = (int) Math.min(u.step(), u.first() + u.count() - from);
            double[][] src = readSources(r, ts, from, len, part);
            if (full) {
                for (int k = 0; k < src.length; k++) {
                    for (int j = 0; j < len; j++) {
                        if (Double.isFinite(src[k][j])) continue;
                        if (part.firstNonFinite[k] < 0) part.firstNonFinite[k] = from + j;
                        part.nonFinite[k]++;
                    }
                }
            }
            for (int c = 0; c < nc; c++) {
                if (!active[c]) continue;
                TensorMerge m = p.merges.get(c).get(u.tensor());
                part.stats[c].addStep(m, p.searches.get(c).get(u.tensor()), from, len, full, p.usesBase.get(c) ? src[0] : null, inputs(p, c, src, len));
            }
        }
        for (int c = 0; c < nc; c++) if (active[c]) part.stats[c].sealSlice(u.first());
        return part;
    }

    private static boolean openSearch(TopK.Search[][] s) {
        for (TopK.Search[] a : s) for (TopK.Search x : a) if (!x.done()) return true;
        return false;
    }

    private static Part mergeMeasured(Part a, Part b) {
        for (int c = 0; c < a.stats.length; c++) if (a.stats[c] != null) a.stats[c].merge(b.stats[c]);
        for (int k = 0; k < a.nonFinite.length; k++) {
            if (b.firstNonFinite[k] >= 0 && (a.firstNonFinite[k] < 0 || b.firstNonFinite[k] < a.firstNonFinite[k])) a.firstNonFinite[k] = b.firstNonFinite[k];
            a.nonFinite[k] += b.nonFinite[k];
        }
        a.reads += b.reads;
        a.values += b.values;
        return a;
    }

    private void checkFinite(String tensor, Part p) {
        for (int k = 0; k < p.nonFinite.length; k++) {
            if (p.nonFinite[k] == 0) continue;
            TensorInfo t = plan.tensors.get(tensor)[k];
            throw new CheckpointFormatException(t.file(), tensor, "FiniteValues", p.nonFinite[k] + " NaN/Inf value(s) in " + plan.sources.get(k)
                    + ", the first at element " + p.firstNonFinite[k] + "; a merge would spread them");
        }
    }

    /** Where a cut keeps only some of the elements equal to its threshold: how many there are in each UNIT block (one pass). */
    private void equalCounts() {
        List<String> tensors = new ArrayList<>();
        for (String t : plan.tensors.keySet()) {
            boolean any = false;
            for (int c = 0; c < plan.candidates(); c++) {
                TopK.Search[][] s = plan.searches.get(c).get(t);
                if (s == null) continue;
                for (TopK.Search[] a : s) for (TopK.Search x : a) if (x.needsEqualCounts()) {
                    any = true;
                    partialCuts++;
                }
            }
            if (any) tensors.add(t);
        }
        if (tensors.isEmpty()) return;
        List<ScreenPlan.Unit> units = plan.units(tensors, false);
        JavaSparkContext jsc = run.jsc();
        var conf = run.conf();
        Broadcast<ScreenPlan> b = jsc.broadcast(plan);
        List<Tuple2<String, Part>> out;
        try {
            out = jsc.parallelize(units, partitions(jsc, units.size())).mapToPair(u -> {
                try (RangeReader r = new RangeReader(conf.value().get())) {
                    return new Tuple2<>(u.tensor(), countUnit(b.value(), r, u));
                }
            }).reduceByKey(ScreenPasses::mergeCounts).collect();
        } finally {
            b.destroy();
        }
        long reads = 0, values = 0;
        for (Tuple2<String, Part> t : out) {
            reads += t._2().reads;
            values += t._2().values;
            for (int c = 0; c < plan.candidates(); c++) {
                TopK.Search[][] s = plan.searches.get(c).get(t._1());
                if (s == null) continue;
                for (int i = 0; i < s.length; i++) {
                    for (int k = 0; k < s[i].length; k++) if (s[i][k].needsEqualCounts()) s[i][k].setEqualCounts(MergeJob.UNIT, t._2().equal[c][i][k]);
                }
            }
        }
        this.reads.add(new PassReads("top-k ties", reads, values));
    }

    private static Part countUnit(ScreenPlan p, RangeReader r, ScreenPlan.Unit u) {
        int nc = p.candidates();
        TensorInfo[] ts = p.tensors.get(u.tensor());
        int blocks = (int) ((ts[0].elementCount() + MergeJob.UNIT - 1) / MergeJob.UNIT);
        Part part = new Part();
        part.equal = new long[nc][][][];
        for (int c = 0; c < nc; c++) {
            TopK.Search[][] s = p.searches.get(c).get(u.tensor());
            if (s == null) continue;
            part.equal[c] = new long[s.length][][];
            for (int i = 0; i < s.length; i++) {
                part.equal[c][i] = new long[s[i].length][];
                for (int k = 0; k < s[i].length; k++) if (s[i][k].needsEqualCounts()) part.equal[c][i][k] = new long[blocks];
            }
        }
        for (long from = u.first(); from < u.first() + u.count(); from += u.step()) {
            int len = (int) Math.min(u.step(), u.first() + u.count() - from);
            double[][] src = readSources(r, ts, from, len, part);
            for (int c = 0; c < nc; c++) {
                if (part.equal[c] == null) continue;
                int[] idx = p.inputsOf.get(c);
                TopK.Search[][] s = p.searches.get(c).get(u.tensor());
                for (int i = 0; i < s.length; i++) {
                    for (int k = 0; k < s[i].length; k++) {
                        long[] per = part.equal[c][i][k];
                        if (per == null) continue;
                        long key = s[i][k].cut().key();
                        double[] x = src[idx[i]], base = src[0];
                        for (int j = 0; j < len; j++) if (TopK.key(x[j] - base[j]) == key) per[(int) ((from + j) / MergeJob.UNIT)]++;
                    }
                }
            }
        }
        return part;
    }

    private static Part mergeCounts(Part a, Part b) {
        for (int c = 0; c < a.equal.length; c++) {
            if (a.equal[c] == null) continue;
            for (int i = 0; i < a.equal[c].length; i++) {
                for (int k = 0; k < a.equal[c][i].length; k++) {
                    long[] x = a.equal[c][i][k], y = b.equal[c][i][k];
                    if (x != null) for (int j = 0; j < x.length; j++) x[j] += y[j];
                }
            }
        }
        a.reads += b.reads;
        a.values += b.values;
        return a;
    }

    // ---- the final pass: merge every candidate, measure the merged tensors ----

    /** Per tensor (plan order): the candidates' metrics and the sources' moments, slices merged in element order. */
    record Screened(Map<String, ScreenMetrics[]> metrics, Map<String, ScreenMetrics.Sources> sources) {}

    Screened screen() {
        List<ScreenPlan.Unit> units = plan.units(new ArrayList<>(plan.tensors.keySet()), true);
        JavaSparkContext jsc = run.jsc();
        var conf = run.conf();
        Broadcast<ScreenPlan> b = jsc.broadcast(plan);
        List<Tuple2<String, Part>> out;
        try {
            out = new ArrayList<>(jsc.parallelize(units, partitions(jsc, units.size())).mapToPair(u -> {
                try (RangeReader r = new RangeReader(conf.value().get())) {
                    return new Tuple2<>(u.tensor(), screenUnit(b.value(), r, u));
                }
            }).collect());
        } finally {
            b.destroy();
        }
        // merged on the driver in element order: the same bits whatever ran where
        out.sort(Comparator.comparing((Tuple2<String, Part> t) -> t._1()).thenComparingLong(t -> t._2().first));
        Map<String, ScreenMetrics[]> metrics = new LinkedHashMap<>();
        Map<String, ScreenMetrics.Sources> sources = new LinkedHashMap<>();
        long reads = 0, values = 0;
        for (Tuple2<String, Part> t : out) {
            reads += t._2().reads;
            values += t._2().values;
            ScreenMetrics[] have = metrics.get(t._1());
            if (have == null) {
                metrics.put(t._1(), t._2().metrics);
                sources.put(t._1(), t._2().sources);
                continue;
            }
            for (int c = 0; c < have.length; c++) have[c].merge(t._2().metrics[c]);
            sources.get(t._1()).merge(t._2().sources);
        }
        this.reads.add(new PassReads("screen", reads, values));
        Map<String, ScreenMetrics[]> ordered = new LinkedHashMap<>();
        Map<String, ScreenMetrics.Sources> orderedSources = new LinkedHashMap<>();
        for (String t : plan.tensors.keySet()) {
            ordered.put(t, metrics.get(t));
            orderedSources.put(t, sources.get(t));
        }
        return new Screened(ordered, orderedSources);
    }

    private static Part screenUnit(ScreenPlan p, RangeReader r, ScreenPlan.Unit u) {
        int nc = p.candidates(), nm = p.models();
        TensorInfo[] ts = p.tensors.get(u.tensor());
        Part part = new Part();
        part.first = u.first();
        part.metrics = new ScreenMetrics[nc];
        part.sources = new ScreenMetrics.Sources(nm);
        long[][][] eq = new long[nc][][];
        for (int c = 0; c < nc; c++) {
            part.metrics[c] = new ScreenMetrics(nm);
            eq[c] = equalsBefore(p.merges.get(c).get(u.tensor()), u.first());
        }
        int cap = Math.min(u.step(), u.count());
        double[] out = new double[cap], scratch = new double[cap];
        double[][] taus = new double[nm][cap];
        for (long from = u.first(); from < u.first() + u.count(); from += u.step()) {
            int len = (int) Math.min(u.step(), u.first() + u.count() - from);
            double[][] src = readSources(r, ts, from, len, part);
            double[] base = src[0];
            double[][] models = java.util.Arrays.copyOfRange(src, 1, src.length);
            for (int k = 0; k < nm; k++) for (int j = 0; j < len; j++) taus[k][j] = models[k][j] - base[j];
            part.sources.add(base, models, taus, len);
            for (int c = 0; c < nc; c++) {
                TensorMerge m = p.merges.get(c).get(u.tensor());
                m.method.merge(m, from, len, p.usesBase.get(c) ? base : null, inputs(p, c, src, len), eq[c], out);
                part.metrics[c].add(base, out, taus, len, scratch);
                if (u.whole()) {
                    long[] shape = ts[0].shape();
                    part.metrics[c].spectrum(Lapack.singularValues(scratch, (int) shape[0], (int) shape[1]));
                    // --spectra-alpha: the merged matrix's own spectrum, one more SVD (neither call modifies its input)
                    if (p.alpha) part.metrics[c].alpha = ScreenAlpha.of(out, (int) shape[0], (int) shape[1]);
                }
            }
        }
        return part;
    }

    /** Per input and cut, the equal-to-threshold keys before {@code first} (a multiple of UNIT: known from the tie-count pass). */
    private static long[][] equalsBefore(TensorMerge m, long first) {
        if (m.cuts == null) return null;
        long[][] eq = new long[m.cuts.length][];
        for (int i = 0; i < eq.length; i++) {
            eq[i] = new long[m.cuts[i].length];
            for (int k = 0; k < eq[i].length; k++) {
                long e = m.cuts[i][k].eqBefore(first);
                if (e < 0) throw new IllegalStateException(m.tensor + ": a screen unit starts at " + first + ", not at a multiple of the tie-count block");
                eq[i][k] = e;
            }
        }
        return eq;
    }

    private static int partitions(JavaSparkContext jsc, int tasks) {
        return Math.max(1, Math.min(tasks, 4 * jsc.defaultParallelism()));
    }
}
