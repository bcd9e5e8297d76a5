package io.weightlab.common.merge;

import java.util.List;

/** mergekit's linear: Σ w_i x_i, divided by Σ w_i when normalize (Wortsman et al., model soups). No base role. */
public final class Linear implements MergeMethod {
    private static final long serialVersionUID = 1L;

    @Override public boolean needsBase() { return false; }

    @Override public List<String> perModelParams() { return List.of("weight"); }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        double[] w = m.model("weight");
        double div = 0;
        for (double v : w) div += v;
        boolean normalize = m.flag("normalize");
        for (int j = 0; j < count; j++) {
            double s = w[0] * xs[0][j];
            for (int i = 1; i < xs.length; i++) s += w[i] * xs[i][j];
            out[j] = normalize ? s / div : s;
        }
    }
}
