package io.weightlab.common.linalg;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Conv2D kernel's ESD as WeightWatcher builds it (docs/algorithms.md §7.8, WeightWatcher's {@code conv2D_Wmats}
 * with its defaults {@code pool=True, conv2d_norm=True}): one matrix per kernel position, W[:,:,i,j] for PyTorch's
 * (out, in, kh, kw) when a+b ≥ c+d, else W[i,j,:,:] (Keras's (kh, kw, in, out)), each transposed to rows ≥ cols and
 * scaled by √(1/2), their M·rf eigenvalues pooled into one ESD.
 */
public final class Conv2dSpectrum {
    /** WeightWatcher's conv2d_norm with pooling: each slice scaled by √(conv2d_count/2), conv2d_count = 1, as coded. */
    public static final double SLICE_SCALE = Math.sqrt(0.5);

    private Conv2dSpectrum() {}

    /** How a 4-D kernel is sliced: n x m matrices (n ≥ m), rf of them; {@code channelsLast} for PyTorch's layout. */
    public record Layout(int n, int m, int rf, boolean channelsLast) {
        public long evals() { return (long) m * rf; }
    }

    public static Layout layout(long[] shape) {
        if (shape.length != 4) throw new IllegalArgumentException("a Conv2D kernel has 4 dimensions, not " + shape.length);
        boolean last = shape[0] + shape[1] >= shape[2] + shape[3];
        long a = last ? shape[0] : shape[2], b = last ? shape[1] : shape[3];
        long rf = last ? shape[2] * shape[3] : shape[0] * shape[1];
        return new Layout(Math.toIntExact(Math.max(a, b)), Math.toIntExact(Math.min(a, b)), Math.toIntExact(rf), last);
    }

    /** The rf slices of a row-major kernel, each row-major n x m (transposed where it was wider than tall). */
    public static List<double[]> slices(double[] values, long[] shape) {
        Layout l = layout(shape);
        int d0 = (int) shape[0], d1 = (int) shape[1], d2 = (int) shape[2], d3 = (int) shape[3];
        int rows = l.channelsLast() ? d0 : d2, cols = l.channelsLast() ? d1 : d3;
        boolean transpose = rows < cols;
        List<double[]> out = new ArrayList<>(l.rf());
        int iMax = l.channelsLast() ? d2 : d0, jMax = l.channelsLast() ? d3 : d1;
        for (int i = 0; i < iMax; i++) {
            for (int j = 0; j < jMax; j++) {
                double[] s = new double[rows * cols];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        long at = l.channelsLast() ? (((long) r * d1 + c) * d2 + i) * d3 + j : (((long) i * d1 + j) * d2 + r) * d3 + c;
                        s[transpose ? c * rows + r : r * cols + c] = values[(int) at];
                    }
                }
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The pooled ESD as singular values of the scaled slices, √λ descending (λ = ½s²), and, when asked, every
     * slice's short-side eigenvectors with their eigenvalues (null otherwise).
     */
    public record Pooled(Layout layout, double[] singularValues, List<VectorLocalization.Metrics> vectors) {}

    public static Pooled pooled(double[] values, long[] shape, boolean vectors) {
        Layout l = layout(shape);
        double[] sv = new double[Math.toIntExact(l.evals())];
        List<VectorLocalization.Metrics> vecs = vectors ? new ArrayList<>() : null;
        int at = 0;
        for (double[] s : slices(values, shape)) {
            double[] sliceSv;
            if (vectors) {
                Lapack.Factors f = Lapack.svd(s, l.n(), l.m());
                VectorLocalization.addShortSide(f, SLICE_SCALE, vecs);
                sliceSv = f.s();
            } else {
                sliceSv = Lapack.singularValues(s, l.n(), l.m());
            }
            for (double x : sliceSv) sv[at++] = x * SLICE_SCALE;
        }
        Arrays.sort(sv);
        for (int i = 0, j = sv.length - 1; i < j; i++, j--) {
            double t = sv[i];
            sv[i] = sv[j];
            sv[j] = t;
        }
        return new Pooled(l, sv, vecs);
    }
}
