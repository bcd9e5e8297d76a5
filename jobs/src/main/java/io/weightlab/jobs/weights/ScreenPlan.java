package io.weightlab.jobs.weights;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.merge.MergeMethod;
import io.weightlab.common.merge.MergePlanner;
import io.weightlab.common.merge.MergeRecipe;
import io.weightlab.common.merge.ScreenGrid;
import io.weightlab.common.merge.TensorMerge;
import io.weightlab.common.merge.TopK;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.jobs.spark.JobRun;
import org.apache.hadoop.conf.Configuration;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The driver's plan of a merge screen, headers only: the sources every task reads (the one base at index 0, then
 * every model any candidate merges, in first-seen order), each candidate's inputs as indices into them, every
 * candidate's resolved {@link TensorMerge} of every floating tensor (all of {@link MergePlanner}'s checks, with the
 * candidate's name in the message), and the units the passes cut each tensor into. Serialisable: the tasks get it by
 * broadcast.
 */
final class ScreenPlan implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One unit of work: elements [first, first + count) of one tensor; whole = the tensor in one step (spectra). */
    record Unit(String tensor, long first, int count, int step, boolean whole) implements Serializable {}

    final List<String> names = new ArrayList<>();
    final List<String> methods = new ArrayList<>();
    /** Source URIs: [0] the base, [1..M] the models. */
    final List<String> sources = new ArrayList<>();
    /** Per candidate: its inputs' source indices (recipe order, as {@link MergePlanner#inputs()}). */
    final List<int[]> inputsOf = new ArrayList<>();
    final List<Boolean> usesBase = new ArrayList<>();
    /** Per candidate: tensor name → its merge (the passes fill in the measured fields). */
    final List<Map<String, TensorMerge>> merges = new ArrayList<>();
    /** Tensor name → its TensorInfo in every source (index as {@link #sources}). */
    final Map<String, TensorInfo[]> tensors = new LinkedHashMap<>();
    /** Tensor name → the alignment every chunk must keep (the least common multiple over the candidates' row alignments). */
    final Map<String, Long> alignment = new LinkedHashMap<>();
    /** Per candidate: tensor name → its top-k searches (per input, per cut), for the methods that need them. */
    final List<Map<String, TopK.Search[][]>> searches = new ArrayList<>();
    final int step;
    final long spectraMaxBytes;
    /** --spectra-alpha: also WeightWatcher's α of every candidate's merged matrix screened whole. */
    final boolean alpha;
    final int layers;
    final transient Checkpoint base;

    ScreenPlan(JobRun run, List<ScreenGrid.Candidate> candidates, long seed, long memoryBudget, long spectraMaxBytes, boolean alpha, String gridUri) {
        Configuration hconf = run.hadoop();
        List<MergePlanner> planners = new ArrayList<>();
        String baseUri = null, baseOf = null;
        for (ScreenGrid.Candidate c : candidates) {
            MergePlanner p = new MergePlanner(c.recipe(), seed);
            planners.add(p);
            String b = c.recipe().baseModel();
            if (b == null) continue;
            if (baseUri == null) {
                baseUri = b;
                baseOf = c.name();
            } else if (!baseUri.equals(b)) {
                throw new UsageException(gridUri + ": candidate '" + c.name() + "' has base_model " + b + ", candidate '" + baseOf + "' " + baseUri
                        + ": a screen measures every candidate against one base");
            }
        }
        if (baseUri == null) {
            throw new UsageException(gridUri + ": no candidate names a base_model: a screen measures every merge against the base (give base_model; methods that do not merge onto it use it for the metrics only)");
        }
        sources.add(baseUri);
        for (int c = 0; c < candidates.size(); c++) {
            MergePlanner p = planners.get(c);
            List<MergeRecipe.Model> in = p.inputs();
            int[] idx = new int[in.size()];
            for (int i = 0; i < idx.length; i++) {
                String u = in.get(i).uri();
                int k = sources.indexOf(u);
                if (k < 0) {
                    sources.add(u);
                    k = sources.size() - 1;
                }
                idx[i] = k;
            }
            names.add(candidates.get(c).name());
            methods.add(candidates.get(c).recipe().method());
            inputsOf.add(idx);
            usesBase.add(p.usesBase());
        }
        base = CheckpointCatalog.open(hconf, baseUri);
        List<Checkpoint> models = new ArrayList<>();
        for (String u : sources.subList(1, sources.size())) models.add(CheckpointCatalog.open(hconf, u));
        MergePlanner.checkSameTensors(base, models, sources.subList(1, sources.size()));
        layers = MergePlanner.layerCount(base.tensors());
        for (MergePlanner p : planners) p.checkLayerRanges(layers);
        for (TensorInfo t : base.tensors()) {
            if (!t.dtype().isFloatingPoint()) continue;
            TensorInfo[] ts = new TensorInfo[sources.size()];
            ts[0] = t;
            for (int k = 1; k < ts.length; k++) ts[k] = models.get(k - 1).tensor(t.name());
            tensors.put(t.name(), ts);
        }
        for (MergePlanner p : planners) {
            Map<String, TensorMerge> ms = new LinkedHashMap<>();
            Map<String, TopK.Search[][]> ss = new LinkedHashMap<>();
            for (String name : tensors.keySet()) {
                TensorMerge m = p.plan(tensors.get(name)[0], layers);
                if (m.method.ranksAcrossInputs(m)) {
                    // its top-k opens after the first pass and needs one more pass over the mask: merge --config runs those
                    throw new UsageException(gridUri + ": candidate '" + names.get(merges.size()) + "': " + m.methodName
                            + " with select_topk < 1 is not screened (its variance top-k takes passes of its own); screen select_topk 1 or run merge --config");
                }
                ms.put(name, m);
                alignment.merge(name, m.method.rowAlignment(m), ScreenPlan::lcm);
                long[][] k = m.method.topK(m);
                if (k == null) continue;
                TopK.Search[][] s = new TopK.Search[m.inputs][];
                for (int i = 0; i < m.inputs; i++) {
                    s[i] = new TopK.Search[k[i].length];
                    for (int c = 0; c < k[i].length; c++) s[i][c] = new TopK.Search(k[i][c], m.elements);
                }
                ss.put(name, s);
            }
            merges.add(ms);
            searches.add(ss);
        }
        // the base, the M models, a candidate's copies of them and its output, Δ and τ: (2M + 5) doubles a position
        int m = sources.size() - 1;
        step = (int) Math.max(4096, Math.min(MergeJob.UNIT, memoryBudget / (8L * (2 * m + 5))));
        this.spectraMaxBytes = spectraMaxBytes;
        this.alpha = alpha;
    }

    int candidates() { return names.size(); }

    int models() { return sources.size() - 1; }

    static long lcm(long a, long b) {
        long x = a, y = b;
        while (y != 0) {
            long t = x % y;
            x = y;
            y = t;
        }
        long l = a / x * b;
        if (l <= 0 || l > Integer.MAX_VALUE / 2) throw new UsageException("a merge chunk of " + a + " x " + b + " elements is too long");
        return l;
    }

    /** Whether the final pass screens {@code tensor} whole, for Δ's singular values: a matrix whose Δ in doubles is within the limit. */
    boolean spectrum(String tensor) {
        TensorInfo t = tensors.get(tensor)[0];
        return spectraMaxBytes > 0 && t.shape().length == 2 && t.elementCount() * 8 <= spectraMaxBytes && t.elementCount() > 0;
    }

    /**
     * The units of {@code names}: they start at multiples of {@link MergeJob#UNIT} (TIES' equal counts are per UNIT
     * elements) and of every candidate's row alignment (DELLA ranks within rows); a matrix screened for its spectrum is
     * one unit and, in the final pass, one step.
     */
    List<Unit> units(List<String> names, boolean finalPass) {
        List<Unit> out = new ArrayList<>();
        for (String t : names) {
            long n = tensors.get(t)[0].elementCount();
            long align = alignment.get(t);
            int st = MergeMethod.alignedStep(step, align);
            if (spectrum(t)) {
                out.add(new Unit(t, 0, (int) n, finalPass ? (int) n : st, finalPass));
                continue;
            }
            long len = lcm(MergeJob.UNIT, align);
            for (long f = 0; f < n; f += len) out.add(new Unit(t, f, (int) Math.min(len, n - f), st, false));
        }
        return out;
    }
}
