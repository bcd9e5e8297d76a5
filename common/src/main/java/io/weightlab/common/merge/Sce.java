package io.weightlab.common.merge;

import java.util.List;

/**
 * SCE (Wan et al. 2024, "FuseChat", arXiv 2408.07990; mergekit's sce): per input a matrix-level coefficient
 * c_i = mean(τ_i²)/Σ_j mean(τ_j²) (1/N each when that sum is below 1e-6), an element kept for input i when the sign of
 * τ_i agrees with the sign of Σ_j τ_j (unweighted; a zero never agrees), and b + Σ c_i M_i τ_i / max(Σ c_i M_i, 1e-6).
 * The mean squares are the diagonal of the first pass's Gram matrix, so the write is elementwise. There are no weights.
 * With select_topk < 1 the τ_i are first masked to the ⌊nnz(v)·select_topk⌋ positions of largest population variance v
 * of the τ_i across models (one mask for all; ties by index): an exact top-k search over v, then a pass for the masked
 * Σ(m⊙τ_i)² that the coefficients take instead.
 */
public final class Sce implements MergeMethod {
    private static final long serialVersionUID = 1L;

    @Override public boolean needsBase() { return true; }

    @Override public List<String> perModelParams() { return List.of(); }

    @Override public boolean needsGram() { return true; }

    private static boolean selects(TensorMerge m) { return m.global("select_topk") < 1; }

    @Override public boolean ranksAcrossInputs(TensorMerge m) { return selects(m); }

    /** The population variance of the τ_i at each element: two-pass in model order, exactly 0 when all are equal. */
    @Override
    public void rankValues(TensorMerge m, double[][] tau, int len, double[] out) {
        int n = tau.length;
        for (int j = 0; j < len; j++) {
            double t0 = tau[0][j], sum = 0;
            boolean equal = true;
            for (double[] t : tau) {
                sum += t[j];
                equal &= t[j] == t0;
            }
            if (equal) {
                out[j] = 0;
                continue;
            }
            double mean = sum / n, q = 0;
            for (double[] t : tau) q += (t[j] - mean) * (t[j] - mean);
            out[j] = q / n;
        }
    }

    @Override public long rankK(TensorMerge m, long nonZero) { return (long) (nonZero * m.global("select_topk")); }

    /** c_i = mean(τ_i²)/Σ_j mean(τ_j²) from Σ τ_i² per input, 1/N each when the sum of means is below 1e-6. */
    static double[] coefficients(double[] sumSq, long elements) {
        int n = sumSq.length;
        double[] c = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += c[i] = sumSq[i] / elements;
        for (int i = 0; i < n; i++) c[i] = Math.abs(sum) < 1e-6 ? 1.0 / n : c[i] / sum;
        return c;
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        int n = xs.length;
        for (double[] x : xs) for (int j = 0; j < count; j++) x[j] -= base[j];   // xs now hold τ_i
        double[] c;
        if (selects(m)) {
            c = coefficients(m.maskedSumSq, m.elements);
            double[] v = new double[count];
            boolean[] keep = new boolean[count];
            rankValues(m, xs, count, v);
            eqBefore[0][0] = m.cuts[0][0].mark(v, count, eqBefore[0][0], keep);   // the next step continues the count
            for (double[] x : xs) for (int j = 0; j < count; j++) if (!keep[j]) x[j] = 0;
        } else {
            double[] sq = new double[n];
            for (int i = 0; i < n; i++) sq[i] = m.gram[i * n + i];
            c = coefficients(sq, m.elements);
        }
        for (int j = 0; j < count; j++) {
            double sum = 0;
            for (double[] x : xs) sum += x[j];
            double sign = sum >= 0 ? 1 : -1, mix = 0, div = 0;
            for (int i = 0; i < n; i++) {
                double tau = xs[i][j];
                if (Math.signum(tau) == sign) {
                    mix += c[i] * tau;
                    div += c[i];
                }
            }
            out[j] = base[j] + mix / Math.max(div, 1e-6);
        }
    }
}
