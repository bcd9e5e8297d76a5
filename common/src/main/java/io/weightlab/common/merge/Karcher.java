package io.weightlab.common.merge;

import java.util.List;

/**
 * mergekit's karcher: the Riemannian (Karcher) mean of the inputs' directions on the unit sphere, scaled by the mean
 * of their norms. Every iterate is a combination of the unit inputs u_i = x_i/‖x_i‖, so the whole iteration runs on
 * the first pass's Gram matrix G_ij = x_i·x_j (N × N numbers): with u = Σ c_i u_i and H_ij = u_i·u_j, cos θ_i = (Hc)_i
 * and ‖T‖² = tᵀHt. The write is then the elementwise Σ (s·c_i/‖x_i‖) x_i, exact in double, never a whole tensor held.
 * The base, when given, is one of the inputs (mergekit's behaviour); α_i = 1/N, weights are not used.
 */
public final class Karcher implements MergeMethod {
    private static final long serialVersionUID = 1L;

    @Override public boolean needsBase() { return false; }

    @Override public boolean baseIsInput() { return true; }

    @Override public List<String> perModelParams() { return List.of(); }

    @Override public boolean needsGram() { return true; }

    /** Per input, the factor of x_i in the result. */
    static double[] coefficients(double[] gram, int n, int maxIter, double tol) {
        double[] out = new double[n];
        if (n == 1) {
            out[0] = 1;
            return out;
        }
        double[] norm = new double[n];
        int valid = 0;
        for (int i = 0; i < n; i++) {
            norm[i] = Math.sqrt(Math.max(0, gram[i * n + i]));
            if (norm[i] > tol) valid++;
        }
        if (valid == 0) return out;                                    // mergekit: zeros
        int[] idx = new int[valid];
        for (int i = 0, v = 0; i < n; i++) if (norm[i] > tol) idx[v++] = i;
        double[][] h = new double[valid][valid];
        for (int a = 0; a < valid; a++) {
            for (int b = 0; b < valid; b++) h[a][b] = gram[idx[a] * n + idx[b]] / (norm[idx[a]] * norm[idx[b]]);
        }
        double alpha = 1.0 / valid;
        double[] c = new double[valid];
        java.util.Arrays.fill(c, alpha);
        double mn = Math.sqrt(quad(h, c, c));
        if (mn < tol) {
            java.util.Arrays.fill(c, 0);
            c[0] = 1;
        } else {
            for (int a = 0; a < valid; a++) c[a] /= mn;
        }
        for (int it = 0; it < maxIter; it++) {
            double[] hc = times(h, c);
            double[] t = new double[valid];
            for (int a = 0; a < valid; a++) {
                double cos = Math.max(-1, Math.min(1, hc[a]));
                double theta = Math.acos(cos);
                if (theta < tol) continue;
                double k = alpha * theta / Math.sin(theta);
                t[a] += k;                                             // + k u_a
                for (int b = 0; b < valid; b++) t[b] -= k * cos * c[b]; // − k cos θ_a u
            }
            double tn = Math.sqrt(Math.max(0, quad(h, t, t)));
            if (tn < tol) break;
            double cs = Math.cos(tn), sn = Math.sin(tn) / tn;
            for (int a = 0; a < valid; a++) c[a] = cs * c[a] + sn * t[a];
            double un = Math.sqrt(Math.max(0, quad(h, c, c)));
            if (un > tol) for (int a = 0; a < valid; a++) c[a] /= un;
        }
        double scale = 0;
        for (int i = 0; i < n; i++) scale += norm[i] / n;               // zero tensors count in the scale
        for (int a = 0; a < valid; a++) out[idx[a]] = scale * c[a] / norm[idx[a]];
        return out;
    }

    private static double[] times(double[][] h, double[] v) {
        double[] out = new double[v.length];
        for (int a = 0; a < v.length; a++) {
            double s = 0;
            for (int b = 0; b < v.length; b++) s += h[a][b] * v[b];
            out[a] = s;
        }
        return out;
    }

    private static double quad(double[][] h, double[] x, double[] y) {
        double s = 0;
        double[] hy = times(h, y);
        for (int a = 0; a < x.length; a++) s += x[a] * hy[a];
        return s;
    }

    @Override
    public void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out) {
        double[] c = coefficients(m.gram, xs.length, (int) m.global("max_iter"), m.global("tol"));
        for (int j = 0; j < count; j++) {
            double s = 0;
            for (int i = 0; i < xs.length; i++) s += c[i] * xs[i][j];
            out[j] = s;
        }
    }
}
