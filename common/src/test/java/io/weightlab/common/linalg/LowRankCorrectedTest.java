package io.weightlab.common.linalg;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * W + s·B·A as an operator against the dense sum formed in float64 (docs/algorithms.md §17.2): both products agree to
 * 1e-12 relative (the same sums in another order), for W stored [out, in] and [in, out] (fan_in_fan_out); the top
 * singular values by block Krylov equal LAPACK's of the dense sum to 1e-9 relative on a spectrum that decays
 * geometrically (ratio 0.7: a 40-column Krylov space on a 60 x 40 matrix spans it).
 */
class LowRankCorrectedTest {
    static final int OUT = 60, IN = 40, R = 3;
    static final double S = 1.5;

    static double[] gaussian(int n, long seed) {
        SplittableRandom g = new SplittableRandom(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = g.nextDouble() * 2 - 1;
        return x;
    }

    /** A row-major out x in matrix with singular values 0.7^i and random orthonormal factors. */
    static double[] planted(long seed) {
        double[] u = Lapack.orthonormalize(gaussian(OUT * IN, seed), OUT, IN);
        double[] v = Lapack.orthonormalize(gaussian(IN * IN, seed + 1), IN, IN);
        double[] w = new double[OUT * IN];
        for (int i = 0; i < OUT; i++) {
            for (int j = 0; j < IN; j++) {
                double x = 0;
                for (int k = 0; k < IN; k++) x += u[i * IN + k] * Math.pow(0.7, k) * v[j * IN + k];
                w[i * IN + j] = x;
            }
        }
        return w;
    }

    static double[] denseSum(double[] w, double[] b, double[] a) {
        double[] sum = w.clone();
        for (int i = 0; i < OUT; i++) for (int j = 0; j < IN; j++) for (int k = 0; k < R; k++) sum[i * IN + j] += S * b[i * R + k] * a[k * IN + j];
        return sum;
    }

    static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        return t;
    }

    static void assertClose(double[] want, double[] got, String what) {
        double scale = 0;
        for (double v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-12 * scale, what + " [" + i + "]");
    }

    @Test
    void productsEqualTheDenseSumsBothLayouts() {
        double[] w = gaussian(OUT * IN, 1), b = gaussian(OUT * R, 2), a = gaussian(R * IN, 3);
        double[] sum = denseSum(w, b, a);
        int l = 5;
        double[] x = gaussian(IN * l, 4), y = gaussian(OUT * l, 5);
        for (boolean transposed : new boolean[] {false, true}) {
            RandomizedSvd.Operator base = transposed ? RandomizedSvd.dense(transpose(w, OUT, IN), IN, OUT) : RandomizedSvd.dense(w, OUT, IN);
            try (LowRankCorrected op = new LowRankCorrected(base, transposed, b, OUT, R, a, IN, S)) {
                assertEquals(OUT, op.rows());
                assertEquals(IN, op.cols());
                assertClose(Lapack.multiply(sum, false, x, false, OUT, l, IN), op.times(x, l), "(W + sBA)X, transposed=" + transposed);
                assertClose(Lapack.multiply(sum, true, y, false, IN, l, OUT), op.transposeTimes(y, l), "(W + sBA)ᵀY, transposed=" + transposed);
            }
        }
    }

    @Test
    void topSingularValuesEqualLapackOnTheDenseSum() {
        double[] w = planted(7), b = gaussian(OUT * R, 8), a = gaussian(R * IN, 9);
        double[] exact = Lapack.singularValues(denseSum(w, b, a), OUT, IN);
        int k = 6; // block k + 4 = 10 times q + 1 = 4 Krylov blocks: 40 columns, the short side
        double[] top;
        try (LowRankCorrected op = new LowRankCorrected(RandomizedSvd.dense(w, OUT, IN), false, b, OUT, R, a, IN, S)) {
            top = RandomizedSvd.topSingularValuesKrylov(op, k, 4, 3, 11);
        }
        assertEquals(k, top.length);
        for (int i = 0; i < k; i++) assertEquals(exact[i], top[i], 1e-9 * exact[i], "σ" + i);
    }

    @Test
    void shapesThatDoNotFormTheSumAreRefused() {
        RandomizedSvd.Operator w = RandomizedSvd.dense(new double[OUT * IN], OUT, IN);
        assertThrows(IllegalArgumentException.class, () -> new LowRankCorrected(w, true, new double[OUT * R], OUT, R, new double[R * IN], IN, S));
    }
}
