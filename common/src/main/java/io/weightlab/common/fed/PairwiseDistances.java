package io.weightlab.common.fed;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;

import java.util.List;

/**
 * The K x K matrix of squared distances ‖w_i − w_j‖² between clients, accumulated over element ranges of every
 * tensor (ranged reads, K x step doubles per task) and summed across tasks. Summed as squared differences, not
 * as G_ii + G_jj − 2G_ij from the Gram matrix: clients a small update apart would lose every digit to cancellation.
 */
public final class PairwiseDistances {
    private PairwiseDistances() {}

    /** Adds the contribution of elements [first, first + count) of one tensor (one TensorInfo per client) to {@code d}. */
    public static void accumulate(RangeReader r, List<TensorInfo> clients, long first, int count, int step, double[][] d) {
        int k = clients.size();
        double[][] xs = new double[k][];
        for (int off = 0; off < count; off += step) {
            int len = Math.min(step, count - off);
            for (int c = 0; c < k; c++) xs[c] = TensorValues.read(r, clients.get(c), first + off, first + off + len, null);
            add(xs, len, d);
        }
    }

    /** d[i][j] += Σ_e (x_i,e − x_j,e)² for e < len, both triangles. */
    public static void add(double[][] xs, int len, double[][] d) {
        int k = xs.length;
        for (int i = 0; i < k; i++) {
            double[] a = xs[i];
            for (int j = i + 1; j < k; j++) {
                double[] b = xs[j];
                double s = 0;
                for (int e = 0; e < len; e++) {
                    double t = a[e] - b[e];
                    s += t * t;
                }
                d[i][j] += s;
                d[j][i] += s;
            }
        }
    }

    public static double[][] sum(double[][] a, double[][] b) {
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a.length; j++) a[i][j] += b[i][j];
        return a;
    }
}
