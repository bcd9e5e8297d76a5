package io.weightlab.common.merge;

import io.weightlab.common.error.UsageException;

import java.util.List;

/**
 * mergekit's nuslerp: spherical interpolation of two models with t = w₂/(w₁ + w₂) (0.5 when |w₁ + w₂| < 1e-6); with a
 * base, of the task vectors (b + slerp(t, x₁ − b, x₂ − b)). Vectors are whole tensors (nuslerp_flatten, the default):
 * u = v/max(‖v‖, 1e-7), θ = acos(clamp(u₁·u₂)), [sin((1−t)θ) v₁ + sin(tθ) v₂]/sin θ, the lerp where |sin θ| < 1e-8.
 */
public final class NuSlerp implements MergeMethod {
    private static final long serialVersionUID = 1L;
    @Override public boolean needsBase() { return false; }

    @Override public boolean acceptsBase() { return true; }

    @Override
    public void check(TensorMerge m) {
        if (!m.flag("nuslerp_flatten")) throw new UsageException("nuslerp: nuslerp_flatten: false (row- or column-wise interpolation) is not implemented; use the default true");
    }

    @Override public List<String> perModelParams() { return List.of("weight"); }

    @Override public int exactInputs() { return 2; }

    @Override public boolean needsGram() { return true; }

    static double[] coefficients(double[] w, double[] gram) {
        double sw = w[0] + w[1];
        double t = Math.abs(sw) < 1e-6 ? 0.5 : w[1] / sw;
        double n0 = Math.max(Math.sqrt(gram[0]), 1e-7), n1 = Math.max(Math.sqrt(gram[3]), 1e-7);
        double cos = Math.max(-1, Math.min(1, gram[1] / (n0 * n1)));
        double theta = Math.acos(cos), s = Math.sin(theta);
        if (Math.abs(s) < 1e-8) return new double[] {1 - t, t};
        return new double[] {Math.sin((1 - t) * theta) / s, Math.sin(t * theta) / s};
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        double[] c = coefficients(m.model("weight"), m.gram);
        for (int j = 0; j < count; j++) {
            double b = base == null ? 0 : base[j];
            out[j] = b + c[0] * (xs[0][j] - b) + c[1] * (xs[1][j] - b);
        }
    }
}
