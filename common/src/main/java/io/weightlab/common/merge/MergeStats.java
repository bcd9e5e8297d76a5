package io.weightlab.common.merge;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;

/**
 * The first passes of a merge, per slice of one tensor and merged across slices: non-finite counts of every model,
 * Σ|τ|, Σ|m⊙τ|, Στ² and the kept count per input (DARE's mask), SLERP's dot products, and the histograms of the
 * top-k searches still open. Holds the base and the N inputs of one step: (N + 1) x step doubles, within the budget's
 * (N + 3) x step.
 */
public final class MergeStats implements Serializable {
    private static final long serialVersionUID = 1L;

    public final long[] nonFinite;        // [0] base, [1..N] inputs
    public final long[] firstNonFinite;   // element index of the first, per model (−1: none)
    public final double[] l1, l1Kept, sumSq, kept;
    public double dot, sqB, sqX;
    public final double[] gram;           // δ_i·δ_j, N x N
    public double[] columnGram;           // 3 per vector along dim 0 (nuslerp_row_wise), null when not measured
    public long nonZeroRanked;            // elements whose value ranked across inputs is nonzero (first pass)
    private transient long afterCutSeen;  // the after-cut pass: equal-to-threshold keys seen so far in this slice
    public final TopK.Histogram[][] hist; // per input, per search (null when done or not needed)
    /** The floating-point sums of each slice by its first element, added in that order by {@link #finish}: same bits whatever the task split. */
    private final java.util.TreeMap<Long, double[]> parts = new java.util.TreeMap<>();

    public MergeStats(int inputs, TopK.Search[][] searches) {
        nonFinite = new long[inputs + 1];
        firstNonFinite = new long[inputs + 1];
        java.util.Arrays.fill(firstNonFinite, -1);
        l1 = new double[inputs];
        l1Kept = new double[inputs];
        sumSq = new double[inputs];
        kept = new double[inputs];
        gram = new double[inputs * inputs];
        hist = new TopK.Histogram[inputs][];
        for (int i = 0; i < inputs; i++) {
            int s = searches == null ? 0 : searches[i].length;
            hist[i] = new TopK.Histogram[s];
            for (int c = 0; c < s; c++) if (!searches[i][c].done()) hist[i][c] = new TopK.Histogram();
        }
    }

    /**
     * Measures elements [first, first + count) of one tensor. {@code full}: the first pass (finite checks, norms, dots);
     * otherwise only the open searches' histograms. The range holds whole rows of the method's
     * {@link MergeMethod#rowAlignment}, and so does every step.
     */
    public static MergeStats measure(RangeReader r, TensorMerge m, TensorInfo base, TensorInfo[] inputs, TopK.Search[][] searches,
                                     long first, int count, int step, boolean full) {
        return measure(r, m, base, inputs, searches, first, count, step, full, false);
    }

    /**
     * As above; {@code afterCut}: the pass after a search across inputs found its cut ({@link MergeMethod#ranksAcrossInputs}),
     * which measures only Σ (m⊙τ_i)² into {@link #sumSq} ({@code m.cuts} set, the range starting a unit).
     */
    public static MergeStats measure(RangeReader r, TensorMerge m, TensorInfo base, TensorInfo[] inputs, TopK.Search[][] searches,
                                     long first, int count, int step, boolean full, boolean afterCut) {
        long align = m.method.rowAlignment(m);
        if (first % align != 0 || (count % align != 0 && first + count != m.elements)) {
            throw new IllegalStateException(m.tensor + ": slice [" + first + ", " + (first + count) + ") is not whole rows of " + align);
        }
        step = MergeMethod.alignedStep(step, align);
        MergeStats s = new MergeStats(inputs.length, searches);
        if (afterCut) s.afterCutSeen = m.cuts[0][0].eqBefore(first);
        double[][] xs = new double[inputs.length][];
        StepReader steps = new StepReader(r, inputs.length + 1, step);
        for (int off = 0; off < count; off += step) {
            int len = Math.min(step, count - off);
            long from = first + off;
            double[] b = base == null ? null : steps.read(0, base, from, len);
            for (int i = 0; i < inputs.length; i++) xs[i] = steps.read(i + 1, inputs[i], from, len);
            s.addStep(m, searches, from, len, full, b, xs, afterCut);
        }
        return s.sealSlice(first);
    }

    /**
     * Adds one step's values, elements [from, from + len) (whole rows of the method's alignment): {@code b} the base's
     * (null without one) and {@code xs[i]} input i's as stored, which this overwrites with τ_i. The screen
     * ({@code merge --screen}) reads each model's step once and hands every candidate its own copies.
     */
    public void addStep(TensorMerge m, TopK.Search[][] searches, long from, int len, boolean full, double[] b, double[][] xs) {
        addStep(m, searches, from, len, full, b, xs, false);
    }

    private void addStep(TensorMerge m, TopK.Search[][] searches, long from, int len, boolean full, double[] b, double[][] xs, boolean afterCut) {
        MergeStats s = this;
        boolean gram = full && m.method.needsGram();
        boolean across = m.method.ranksAcrossInputs(m);
        long columns = full ? m.method.columnVectors(m) : 0;
        if (columns > 0 && s.columnGram == null) s.columnGram = new double[Math.toIntExact(3 * columns)];
        if (full && b != null) s.finite(0, b, from);
        for (int i = 0; i < xs.length; i++) {
            double[] x = xs[i];
            if (full) s.finite(i + 1, x, from);
            if (full && m.method.needsDots()) {
                for (int j = 0; j < len; j++) {
                    s.dot += b[j] * x[j];
                    s.sqB += b[j] * b[j];
                    s.sqX += x[j] * x[j];
                }
            }
            if (b == null) continue;
            for (int j = 0; j < len; j++) x[j] -= b[j];
            if (full) {
                boolean[] mask = m.method.needsMaskNorms(m) ? m.method.mask(m, i, from, len, x) : null;
                // one running sum per unit in element order: the same bits whatever the step
                for (int j = 0; j < len; j++) {
                    double v = x[j];
                    s.l1[i] += Math.abs(v);
                    s.sumSq[i] += v * v;
                    if (mask != null && mask[j]) {
                        s.l1Kept[i] += Math.abs(v);
                        s.kept[i]++;
                    }
                }
            }
            if (!across) for (int c = 0; c < s.hist[i].length; c++) if (s.hist[i][c] != null) s.hist[i][c].add(searches[i][c], x, len);
        }
        if (across) {
            double[] ranked = new double[len];
            m.method.rankValues(m, xs, len, ranked);
            if (full) for (int j = 0; j < len; j++) if (ranked[j] != 0) s.nonZeroRanked++;
            if (s.hist.length > 0 && s.hist[0].length > 0 && s.hist[0][0] != null) s.hist[0][0].add(searches[0][0], ranked, len);
            if (afterCut) {
                boolean[] keep = new boolean[len];
                s.afterCutSeen = m.cuts[0][0].mark(ranked, len, s.afterCutSeen, keep);
                for (int i = 0; i < xs.length; i++) {
                    double q = s.sumSq[i];
                    for (int j = 0; j < len; j++) if (keep[j]) q += xs[i][j] * xs[i][j];
                    s.sumSq[i] = q;
                }
            }
        }
        if (gram) {
            int n = xs.length;
            for (int i = 0; i < n; i++) {
                for (int k = i; k < n; k++) {
                    double g = s.gram[i * n + k];
                    for (int j = 0; j < len; j++) g += xs[i][j] * xs[k][j];
                    s.gram[i * n + k] = g;
                    s.gram[k * n + i] = g;
                }
            }
            if (columns > 0) {
                double[] cg = s.columnGram;
                for (int j = 0; j < len; j++) {
                    int c = (int) ((from + j) % columns) * 3;
                    double d0 = xs[0][j], d1 = xs[1][j];
                    cg[c] += d0 * d0;
                    cg[c + 1] += d0 * d1;
                    cg[c + 2] += d1 * d1;
                }
            }
        }
    }

    /** Records the sums so far as the slice starting at {@code first} (one slice per instance, sealed once). */
    public MergeStats sealSlice(long first) {
        parts.put(first, sums());
        return this;
    }

    /** Elements of [from, to) whose value ranked across inputs has the ordering key {@code key}. */
    public static long countRankedEqual(RangeReader r, TensorMerge m, TensorInfo base, TensorInfo[] inputs, long key, long from, long to, int step) {
        long n = 0;
        double[][] tau = new double[inputs.length][];
        for (long f = from; f < to; f += step) {
            int len = (int) Math.min(step, to - f);
            double[] b = TensorValues.read(r, base, f, f + len, null);
            for (int i = 0; i < inputs.length; i++) {
                tau[i] = TensorValues.read(r, inputs[i], f, f + len, null);
                for (int j = 0; j < len; j++) tau[i][j] -= b[j];
            }
            double[] v = new double[len];
            m.method.rankValues(m, tau, len, v);
            for (int j = 0; j < len; j++) if (TopK.key(v[j]) == key) n++;
        }
        return n;
    }

    private void finite(int model, double[] v, long from) {
        for (int j = 0; j < v.length; j++) {
            if (!Double.isFinite(v[j])) {
                if (firstNonFinite[model] < 0) firstNonFinite[model] = from + j;
                nonFinite[model]++;
            }
        }
    }

    /** Equal-to-threshold counts of one slice, per input and search (0 where no tie-break is needed). */
    public static long[][] equalCounts(RangeReader r, TensorMerge m, TensorInfo base, TensorInfo[] inputs, TopK.Search[][] searches, long first, int count, int step) {
        long[][] out = new long[inputs.length][];
        for (int i = 0; i < inputs.length; i++) out[i] = new long[searches[i].length];
        if (m.method.ranksAcrossInputs(m)) {
            out[0][0] = countRankedEqual(r, m, base, inputs, searches[0][0].cut().key(), first, first + count, step);
            return out;
        }
        for (int off = 0; off < count; off += step) {
            int len = Math.min(step, count - off);
            long from = first + off;
            double[] b = TensorValues.read(r, base, from, from + len, null);
            for (int i = 0; i < inputs.length; i++) {
                boolean any = false;
                for (TopK.Search s : searches[i]) any |= s.needsEqualCounts();
                if (!any) continue;
                double[] x = TensorValues.read(r, inputs[i], from, from + len, null);
                for (int c = 0; c < searches[i].length; c++) {
                    if (!searches[i][c].needsEqualCounts()) continue;
                    long key = searches[i][c].cut().key(), n = 0;
                    for (int j = 0; j < len; j++) if (TopK.key(x[j] - b[j]) == key) n++;
                    out[i][c] += n;
                }
            }
        }
        return out;
    }

    private double[] sums() {
        int n = l1.length;
        int cols = columnGram == null ? 0 : columnGram.length;
        double[] v = new double[4 * n + 3 + n * n + cols];
        System.arraycopy(gram, 0, v, 4 * n + 3, n * n);
        if (cols > 0) System.arraycopy(columnGram, 0, v, 4 * n + 3 + n * n, cols);
        for (int i = 0; i < n; i++) {
            v[i] = l1[i];
            v[n + i] = l1Kept[i];
            v[2 * n + i] = sumSq[i];
            v[3 * n + i] = kept[i];
        }
        v[4 * n] = dot;
        v[4 * n + 1] = sqB;
        v[4 * n + 2] = sqX;
        return v;
    }

    /** Sets the sums to the slices' sums added in slice order (call once, on the driver, after every merge). */
    public MergeStats finish() {
        int n = l1.length;
        java.util.Arrays.fill(l1, 0);
        java.util.Arrays.fill(l1Kept, 0);
        java.util.Arrays.fill(sumSq, 0);
        java.util.Arrays.fill(kept, 0);
        dot = sqB = sqX = 0;
        java.util.Arrays.fill(gram, 0);
        int cols = parts.isEmpty() ? 0 : parts.firstEntry().getValue().length - (4 * n + 3 + n * n);
        columnGram = cols > 0 ? new double[cols] : null;
        for (double[] v : parts.values()) {
            for (int c = 0; c < cols; c++) columnGram[c] += v[4 * n + 3 + n * n + c];
            for (int i = 0; i < n; i++) {
                l1[i] += v[i];
                l1Kept[i] += v[n + i];
                sumSq[i] += v[2 * n + i];
                kept[i] += v[3 * n + i];
            }
            dot += v[4 * n];
            sqB += v[4 * n + 1];
            sqX += v[4 * n + 2];
            for (int g = 0; g < n * n; g++) gram[g] += v[4 * n + 3 + g];
        }
        return this;
    }

    /** The whole-tensor facts of a finished first pass into the tensor's merge (norms, dots, Gram matrices). */
    public void copyFirstPassInto(TensorMerge m) {
        System.arraycopy(l1, 0, m.l1, 0, m.inputs);
        System.arraycopy(l1Kept, 0, m.l1Kept, 0, m.inputs);
        System.arraycopy(sumSq, 0, m.sumSq, 0, m.inputs);
        System.arraycopy(kept, 0, m.kept, 0, m.inputs);
        m.dotBX = dot;
        m.sqB = sqB;
        m.sqX = sqX;
        if (m.method.needsGram()) m.gram = gram.clone();
        if (columnGram != null) m.columnGram = columnGram.clone();
    }

    public MergeStats merge(MergeStats o) {
        parts.putAll(o.parts);
        for (int k = 0; k < nonFinite.length; k++) {
            if (o.firstNonFinite[k] >= 0 && (firstNonFinite[k] < 0 || o.firstNonFinite[k] < firstNonFinite[k])) firstNonFinite[k] = o.firstNonFinite[k];
            nonFinite[k] += o.nonFinite[k];
        }
        for (int i = 0; i < l1.length; i++) {
            for (int c = 0; c < hist[i].length; c++) if (hist[i][c] != null) hist[i][c].merge(o.hist[i][c]);
        }
        return this;
    }
}
