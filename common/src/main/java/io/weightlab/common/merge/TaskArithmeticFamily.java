package io.weightlab.common.merge;

import io.weightlab.common.error.UsageException;

import java.util.List;

/**
 * mergekit's generalized task arithmetic: task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
 * breadcrumbs_ties, della, della_linear. Per element: τ_i = x_i − b, sparsified (magnitude top-k, DARE's random mask
 * or DELLA's magnitude-ranked one, each with the L1 rescale, or breadcrumbs' outlier band), D_i = w_i τ'_i; with sign
 * consensus only the D_i whose sign agrees with sign(Σ D_i) count; normalize divides by the summed weights of those
 * that count; the result is b + λ·mix (docs/algorithms.md "Model merging: task arithmetic family", §32.3a for DELLA).
 */
public final class TaskArithmeticFamily implements MergeMethod {
    private static final long serialVersionUID = 1L;

    public enum Sparsifier { NONE, MAGNITUDE, RANDOM, OUTLIERS, DELLA }

    private final Sparsifier sparsifier;
    private final boolean consensus;

    public TaskArithmeticFamily(Sparsifier sparsifier, boolean consensus) {
        this.sparsifier = sparsifier;
        this.consensus = consensus;
    }

    @Override public boolean needsBase() { return true; }

    @Override
    public List<String> perModelParams() {
        return switch (sparsifier) {
            case NONE -> List.of("weight");
            case MAGNITUDE, RANDOM -> List.of("weight", "density");
            case OUTLIERS -> List.of("weight", "density", "gamma");
            case DELLA -> List.of("weight", "density", "epsilon");
        };
    }

    /** DELLA: mergekit's della_magprune refuses density ± epsilon outside (0, 1) unless density is 1 (no pruning). */
    @Override
    public void check(TensorMerge m, List<String> models) {
        if (sparsifier != Sparsifier.DELLA) return;
        for (int i = 0; i < m.inputs; i++) {
            double d = m.model("density")[i], e = m.model("epsilon")[i];
            if (d >= 1 || (d - e > 0 && d + e < 1)) continue;
            throw new UsageException(m.methodName + ": density " + d + " ± epsilon " + e + " of " + models.get(i)
                    + " for tensor '" + m.tensor + "' leaves (0, 1): keep probabilities run from density − epsilon to density + epsilon"
                    + " (lower epsilon, or density 1 for no pruning)");
        }
    }

    /** DELLA ranks |τ| within rows: a chunk holds whole rows ({@link DellaMask#rowBlock}). */
    @Override
    public long rowAlignment(TensorMerge m) {
        return sparsifier == Sparsifier.DELLA ? DellaMask.rowBlock(m.shape) : 1;
    }

    @Override
    public long[][] topK(TensorMerge m) {
        if (sparsifier != Sparsifier.MAGNITUDE && sparsifier != Sparsifier.OUTLIERS) return null;
        long n = m.elements;
        long[][] k = new long[m.inputs][];
        for (int i = 0; i < m.inputs; i++) {
            double d = m.model("density")[i];
            if (d >= 1) k[i] = new long[0];
            else if (sparsifier == Sparsifier.MAGNITUDE) k[i] = new long[] {(long) Math.floor(d * n)};
            else k[i] = outlierBand(d, m.model("gamma")[i], n);
        }
        return k;
    }

    /**
     * Breadcrumbs (Davari and Belilovsky): drop the ⌊γn⌋ largest |τ| and the smallest so that ⌊density·n⌋ stay;
     * as top-k cuts: kept = top(n − n_bot) minus top(n_top).
     */
    static long[] outlierBand(double density, double gamma, long n) {
        long keep = (long) Math.floor(density * n);
        long top = (long) Math.floor(gamma * n);
        long bot = n - keep - top;
        if (bot < 0) {
            top += bot;
            bot = 0;
        }
        return new long[] {n - bot, top};
    }

    @Override
    public boolean needsMaskNorms(TensorMerge m) {
        return (sparsifier == Sparsifier.RANDOM || sparsifier == Sparsifier.DELLA) && m.flag("rescale");
    }

    @Override
    public boolean[] mask(TensorMerge m, int input, long first, int count, double[] tau) {
        if (sparsifier == Sparsifier.DELLA) {
            return DellaMask.draw(m.seed, m.tensor, input, m.model("density")[input], m.model("epsilon")[input], m.shape, first, count, tau);
        }
        if (sparsifier != Sparsifier.RANDOM) return null;
        return DareMask.draw(m.seed, m.tensor, input, m.model("density")[input], first, count);
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        int n = m.inputs;
        double[] w = m.model("weight");
        boolean[] keep = sparsifier == Sparsifier.NONE ? null : new boolean[count];
        boolean[] inner = sparsifier == Sparsifier.OUTLIERS ? new boolean[count] : null;
        for (int i = 0; i < n; i++) {
            double[] x = xs[i];
            for (int j = 0; j < count; j++) x[j] -= base[j];
            double scale = w[i];
            switch (sparsifier) {
                case NONE -> { }
                case MAGNITUDE -> {
                    if (m.cuts[i].length == 0) java.util.Arrays.fill(keep, true);
                    else eqBefore[i][0] = m.cuts[i][0].mark(x, count, eqBefore[i][0], keep);
                }
                case OUTLIERS -> {
                    if (m.cuts[i].length == 0) java.util.Arrays.fill(keep, true);
                    else {
                        eqBefore[i][0] = m.cuts[i][0].mark(x, count, eqBefore[i][0], keep);
                        eqBefore[i][1] = m.cuts[i][1].mark(x, count, eqBefore[i][1], inner);
                        for (int j = 0; j < count; j++) keep[j] &= !inner[j];
                    }
                }
                case RANDOM, DELLA -> {
                    keep = mask(m, i, first, count, x);
                    if (m.flag("rescale") && m.l1[i] >= 1e-7 && m.l1Kept[i] >= 1e-7) scale *= m.l1[i] / m.l1Kept[i];
                }
            }
            if (keep == null) for (int j = 0; j < count; j++) x[j] *= scale;
            else for (int j = 0; j < count; j++) x[j] = keep[j] ? x[j] * scale : 0.0;
        }
        boolean normalize = m.flag("normalize");
        double lambda = m.global("lambda");
        double wsum = 0;
        for (double v : w) wsum += v;
        for (int j = 0; j < count; j++) {
            double mix = 0, div;
            if (consensus) {
                double s = 0;
                for (int i = 0; i < n; i++) s += xs[i][j];
                double sign = s >= 0 ? 1 : -1;
                div = 0;
                for (int i = 0; i < n; i++) {
                    double d = xs[i][j];
                    if (Math.signum(d) == sign) {
                        mix += d;
                        div += w[i];
                    }
                }
                if (div == 0) div = 1;
            } else {
                for (int i = 0; i < n; i++) mix += xs[i][j];
                div = Math.abs(wsum) < 1e-8 ? 1 : wsum;
            }
            if (normalize) mix /= div;
            out[j] = base[j] + lambda * mix;
        }
    }
}
