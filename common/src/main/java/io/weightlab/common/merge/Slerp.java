package io.weightlab.common.merge;

import java.util.List;

/**
 * Spherical linear interpolation of the base v0 and the one other model v1 (Shoemake 1985; mergekit's slerp):
 * with d = v0·v1/(‖v0‖‖v1‖) (a norm ≤ 1e-8 is not divided by), |d| > 0.9995 falls back to (1−t)v0 + t·v1,
 * else θ = acos d and the result is [sin((1−t)θ) v0 + sin(tθ) v1] / sin θ on the unnormalised vectors. The
 * whole-tensor dot products come from the first pass, so the interpolation itself is elementwise.
 */
public final class Slerp implements MergeMethod {
    private static final long serialVersionUID = 1L;
    static final double DOT_THRESHOLD = 0.9995;

    @Override public boolean needsBase() { return true; }

    @Override public List<String> perModelParams() { return List.of(); }

    @Override public int exactInputs() { return 1; }

    @Override public boolean needsDots() { return true; }

    /** The two coefficients (c0, c1) of v0 and v1 for this tensor. */
    static double[] coefficients(double t, double dot, double sq0, double sq1) {
        double n0 = Math.sqrt(sq0), n1 = Math.sqrt(sq1);
        double d = dot / ((n0 > 1e-8 ? n0 : 1) * (n1 > 1e-8 ? n1 : 1));
        if (Math.abs(d) > DOT_THRESHOLD) return new double[] {1 - t, t};
        double theta = Math.acos(d), s = Math.sin(theta);
        return new double[] {Math.sin((1 - t) * theta) / s, Math.sin(t * theta) / s};
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        double[] c = coefficients(m.global("t"), m.dotBX, m.sqB, m.sqX);
        double[] x = xs[0];
        for (int j = 0; j < count; j++) out[j] = c[0] * base[j] + c[1] * x[j];
    }
}
