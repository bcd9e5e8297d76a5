package io.weightlab.common.merge;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.TensorAction;

/**
 * Writes one merged tensor, piece by piece, in steps of at most {@code step} elements: each step reads the same
 * elements of the base and of every input (ranged reads), merges them in float64 and hands them to the shard writer,
 * which casts once. Memory: (N + 2) x step doubles, with step = budget / (N + 3), whatever N is.
 */
public final class MergeAction implements TensorAction {
    private static final long serialVersionUID = 1L;

    private final TensorMerge merge;
    private final TensorInfo base;          // null for methods without a base
    private final TensorInfo[] inputs;
    private final int step;
    private transient RangeReader reader;
    private transient StepReader steps;     // read buffers reused over the task's steps of this tensor

    public MergeAction(TensorMerge merge, TensorInfo base, TensorInfo[] inputs, int step) {
        this.merge = merge;
        this.base = base;
        this.inputs = inputs.clone();
        this.step = Math.max(1, step);
    }

    public TensorMerge merge() { return merge; }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) {
        this.reader = r;
        this.steps = null;
    }

    @Override public void release() {
        this.reader = null;
        this.steps = null;
    }

    @Override
    public void apply(long first, double[] values, int count) {
        long align = merge.method.rowAlignment(merge);
        if (align > 1) {
            applyRows(first, values, count, align);
            return;
        }
        long[][] eq = equalsBefore(first);
        double[] out = new double[Math.min(step, count)];
        double[][] xs = new double[inputs.length][];
        if (steps == null) steps = new StepReader(reader, inputs.length + 1, step);
        for (int off = 0; off < count; off += step) {
            int len = Math.min(step, count - off);
            long from = first + off;
            double[] b = base == null ? null : steps.read(0, base, from, len);
            for (int i = 0; i < inputs.length; i++) xs[i] = steps.read(i + 1, inputs[i], from, len);
            merge.method.merge(merge, from, len, b, xs, eq, out);
            System.arraycopy(out, 0, values, off, len);
        }
    }

    /**
     * For a method that needs whole rows (DELLA): the rows the piece touches are merged in steps of whole rows and the
     * piece's part copied out; a row cut by the shard writer's piece boundary is merged by both pieces, identically.
     */
    private void applyRows(long first, double[] values, int count, long align) {
        long lo = first - first % align, end = first + count;
        long hi = Math.min(merge.elements, (end + align - 1) / align * align);
        int st = MergeMethod.alignedStep(step, align);
        double[] out = new double[(int) Math.min(st, hi - lo)];
        double[][] xs = new double[inputs.length][];
        StepReader rows = new StepReader(reader, inputs.length + 1, st);
        for (long from = lo; from < hi; from += st) {
            int len = (int) Math.min(st, hi - from);
            double[] b = base == null ? null : rows.read(0, base, from, len);
            for (int i = 0; i < inputs.length; i++) xs[i] = rows.read(i + 1, inputs[i], from, len);
            merge.method.merge(merge, from, len, b, xs, null, out);
            long a = Math.max(from, first), z = Math.min(from + len, end);
            if (z > a) System.arraycopy(out, (int) (a - from), values, (int) (a - first), (int) (z - a));
        }
    }

    /** Per input and cut, the equal-to-threshold keys before {@code first}; counted from the unit's start when it is not one. */
    private long[][] equalsBefore(long first) {
        if (merge.cuts == null) return null;
        long[][] eq = new long[merge.cuts.length][];
        for (int i = 0; i < eq.length; i++) {
            eq[i] = new long[merge.cuts[i].length];
            for (int c = 0; c < eq[i].length; c++) {
                TopK.Cut cut = merge.cuts[i][c];
                long e = cut.eqBefore(first);
                if (e < 0) {
                    long unitStart = first - first % cut.unit();
                    e = cut.eqBeforeUnit()[(int) (first / cut.unit())] + countEqual(i, cut.key(), unitStart, first);
                }
                eq[i][c] = e;
            }
        }
        return eq;
    }

    private long countEqual(int input, long key, long from, long to) {
        if (merge.method.ranksAcrossInputs(merge)) return MergeStats.countRankedEqual(reader, merge, base, inputs, key, from, to, step);
        long n = 0;
        for (long f = from; f < to; f += step) {
            long e = Math.min(to, f + step);
            double[] x = TensorValues.read(reader, inputs[input], f, e, null);
            double[] b = TensorValues.read(reader, base, f, e, null);
            for (int j = 0; j < x.length; j++) if (TopK.key(x[j] - b[j]) == key) n++;
        }
        return n;
    }

    @Override
    public String describe() {
        return merge.methodName + " of " + merge.inputs + " model(s)" + (base != null ? " onto the base" : "");
    }
}
