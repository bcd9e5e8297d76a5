package io.weightlab.common.merge;

import io.weightlab.common.error.UsageException;

import java.util.List;

/**
 * SCE (Wan et al. 2024, "FuseChat", arXiv 2408.07990; mergekit's sce): per input a matrix-level coefficient
 * c_i = mean(τ_i²)/Σ_j mean(τ_j²) (1/N each when that sum is below 1e-6), an element kept for input i when the sign of
 * τ_i agrees with the sign of Σ_j τ_j (unweighted; a zero never agrees), and b + Σ c_i M_i τ_i / max(Σ c_i M_i, 1e-6).
 * The mean squares are the diagonal of the first pass's Gram matrix, so the write is elementwise. There are no weights.
 */
public final class Sce implements MergeMethod {
    private static final long serialVersionUID = 1L;

    @Override public boolean needsBase() { return true; }

    @Override public List<String> perModelParams() { return List.of(); }

    @Override public boolean needsGram() { return true; }

    @Override
    public void check(TensorMerge m) {
        double k = m.global("select_topk");
        if (k < 1) throw new UsageException("sce: select_topk " + k + " < 1 (keeping the positions of highest variance across models) is not implemented; use the default 1.0");
    }

    static double[] coefficients(double[] gram, int n, long elements) {
        double[] c = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += c[i] = gram[i * n + i] / elements;
        for (int i = 0; i < n; i++) c[i] = Math.abs(sum) < 1e-6 ? 1.0 / n : c[i] / sum;
        return c;
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        int n = xs.length;
        double[] c = coefficients(m.gram, n, m.elements);
        for (int j = 0; j < count; j++) {
            double b = base[j], sum = 0;
            for (double[] x : xs) sum += x[j] - b;
            double sign = sum >= 0 ? 1 : -1, mix = 0, div = 0;
            for (int i = 0; i < n; i++) {
                double tau = xs[i][j] - b;
                if (Math.signum(tau) == sign) {
                    mix += c[i] * tau;
                    div += c[i];
                }
            }
            out[j] = b + mix / Math.max(div, 1e-6);
        }
    }
}
