package io.weightlab.common.merge;

import io.weightlab.common.error.UsageException;

import java.util.List;

/**
 * Model Stock (Jang et al. 2024, "Model Stock: All we need is just a few fine-tuned models"; mergekit's
 * model_stock): with δ_i = x_i − b over the whole tensor and c the mean pairwise cosine (norm products clamped to at
 * least 1e-6, c to [−1, 1]), t = N c / (1 + (N − 1) c) and the result t·mean(x_i) + (1 − t)·b. Weights are ignored.
 * The cosines come from the first pass's Gram matrix, so the interpolation is elementwise.
 */
public final class ModelStock implements MergeMethod {
    private static final long serialVersionUID = 1L;

    @Override
    public void check(TensorMerge m) {
        if (m.flag("filter_wise")) throw new UsageException("model_stock: filter_wise: true (one t per row) is not implemented; use the default false");
        if (m.inputs < 2) throw new UsageException("model_stock needs at least 2 models besides the base, got " + m.inputs);
    }

    @Override public boolean needsBase() { return true; }

    @Override public List<String> perModelParams() { return List.of(); }

    @Override public boolean needsGram() { return true; }

    /** t for this tensor from its Gram matrix. */
    static double t(double[] gram, int n) {
        if (n < 2) throw new UsageException("model_stock needs at least 2 models besides the base");
        double c = 0;
        int pairs = 0;
        for (int i = 0; i < n; i++) {
            for (int k = i + 1; k < n; k++) {
                double norms = Math.max(Math.sqrt(gram[i * n + i]) * Math.sqrt(gram[k * n + k]), 1e-6);
                c += gram[i * n + k] / norms;
                pairs++;
            }
        }
        c = Math.max(-1, Math.min(1, c / pairs));
        return n * c / (1 + (n - 1) * c);
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        int n = xs.length;
        double t = t(m.gram, n);
        for (int j = 0; j < count; j++) {
            double s = 0;
            for (double[] x : xs) s += x[j];
            out[j] = t * (s / n) + (1 - t) * base[j];
        }
    }
}
