package io.weightlab.common.merge;

import java.util.List;

/**
 * mergekit's nuslerp: spherical interpolation of two models with t = w₂/(w₁ + w₂) (0.5 when |w₁ + w₂| < 1e-6); with a
 * base, of the task vectors (b + slerp(t, x₁ − b, x₂ − b)). Per vector v: u = v/max(‖v‖, 1e-7),
 * θ = acos(clamp(u₁·u₂)), [sin((1−t)θ) v₁ + sin(tθ) v₂]/sin θ, the lerp where |sin θ| < 1e-8. The vectors are whole
 * tensors (nuslerp_flatten, the default, from the first pass's Gram matrix) or, with nuslerp_flatten false, each
 * vector along the last dimension (a row W[i,:]; a 1-D tensor is one vector), computed within the slice, which the
 * planner keeps to whole rows. With nuslerp_row_wise too, each vector along the first dimension (a column W[:,j];
 * mergekit transposes dims 0 and −1): the first pass measures every column's 2 x 2 Gram, so slices split anywhere.
 */
public final class NuSlerp implements MergeMethod {
    private static final long serialVersionUID = 1L;
    @Override public boolean needsBase() { return false; }

    @Override public boolean acceptsBase() { return true; }

    /** Column vectors: not flattened, row_wise, and a matrix (a 1-D tensor is one vector either way). */
    private static boolean byColumns(TensorMerge m) {
        return !m.flag("nuslerp_flatten") && m.flag("nuslerp_row_wise") && m.shape.length >= 2;
    }

    @Override
    public long columnVectors(TensorMerge m) { return byColumns(m) ? m.elements / m.shape[0] : 0; }

    /** Whole rows per slice when each row is its own vector. */
    @Override
    public long rowAlignment(TensorMerge m) {
        if (m.flag("nuslerp_flatten") || byColumns(m) || m.shape.length == 0) return 1;
        return m.shape.length == 1 ? Math.max(1, m.shape[0]) : m.shape[m.shape.length - 1];
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
        if (m.flag("nuslerp_flatten")) {
            mix(coefficients(m.model("weight"), m.gram), base, xs, 0, count, out);
            return;
        }
        if (byColumns(m)) {
            int cols = (int) columnVectors(m);
            double[] w = m.model("weight"), gram = new double[4], c = new double[2 * cols];
            boolean[] done = new boolean[cols];
            for (int j = 0; j < count; j++) {
                int col = (int) ((first + j) % cols);
                if (!done[col]) {
                    double[] g = m.columnGram;
                    gram[0] = g[3 * col];
                    gram[1] = gram[2] = g[3 * col + 1];
                    gram[3] = g[3 * col + 2];
                    double[] cc = coefficients(w, gram);
                    c[2 * col] = cc[0];
                    c[2 * col + 1] = cc[1];
                    done[col] = true;
                }
                double b = base == null ? 0 : base[j];
                out[j] = b + c[2 * col] * (xs[0][j] - b) + c[2 * col + 1] * (xs[1][j] - b);
            }
            return;
        }
        int row = (int) rowAlignment(m);
        if (count % row != 0) throw new IllegalStateException(m.tensor + ": a slice of " + count + " elements is not whole rows of " + row);
        double[] gram = new double[4];
        for (int from = 0; from < count; from += row) {
            double s00 = 0, s01 = 0, s11 = 0;
            for (int j = from; j < from + row; j++) {
                double b = base == null ? 0 : base[j], v0 = xs[0][j] - b, v1 = xs[1][j] - b;
                s00 += v0 * v0;
                s01 += v0 * v1;
                s11 += v1 * v1;
            }
            gram[0] = s00;
            gram[1] = s01;
            gram[2] = s01;
            gram[3] = s11;
            mix(coefficients(m.model("weight"), gram), base, xs, from, from + row, out);
        }
    }

    private static void mix(double[] c, double[] base, double[][] xs, int from, int to, double[] out) {
        for (int j = from; j < to; j++) {
            double b = base == null ? 0 : base[j];
            out[j] = b + c[0] * (xs[0][j] - b) + c[1] * (xs[1][j] - b);
        }
    }
}
