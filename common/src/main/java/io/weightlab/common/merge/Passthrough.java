package io.weightlab.common.merge;

import java.util.List;

/**
 * mergekit's passthrough: one model's tensor as it is, times its optional {@code scale}. With {@code models:} it
 * rewrites one model (dtype, scaled modules); with {@code slices:} it stacks layer ranges of models into a deeper one
 * (frankenmerges), planned by {@link LayerStack}.
 */
public final class Passthrough implements MergeMethod {
    private static final long serialVersionUID = 1L;

    @Override public boolean needsBase() { return false; }

    @Override public List<String> perModelParams() { return List.of("scale"); }

    @Override public int exactInputs() { return 1; }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        double s = m.model("scale")[0];
        for (int j = 0; j < count; j++) out[j] = s * xs[0][j];
    }
}
