package io.weightlab.common.linalg;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The factor route σ(s·B·A) = |s|·σ(R_B R_Aᵀ) against dgesdd of the dense product, formed here by a plain Java loop
 * (no BLAS, no QR): an independent route. Tolerance 1e-10 relative to σ_max, for every value (the tail of a
 * rank-deficient product sits at rounding level on both routes).
 */
class LowRankSpectrumTest {
    static double[] gaussian(Random g, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = g.nextGaussian();
        return x;
    }

    /** s·B·A by the textbook triple loop. */
    static double[] denseProduct(double[] b, int out, int r, double[] a, int in, double s) {
        double[] w = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double acc = 0;
                for (int t = 0; t < r; t++) acc += b[i * r + t] * a[t * in + j];
                w[i * in + j] = s * acc;
            }
        }
        return w;
    }

    static void assertMatchesDense(double[] b, int out, int r, double[] a, int in, double s) {
        double[] got = LowRankSpectrum.singularValues(b, out, r, a, in, s);
        double[] dense = Lapack.singularValues(denseProduct(b, out, r, a, in, s), out, in);
        int k = Math.min(r, Math.min(out, in));
        assertEquals(k, got.length, "min(out, in, r) values");
        double tol = 1e-10 * dense[0];
        for (int i = 0; i < k; i++) assertEquals(dense[i], got[i], tol, "sv " + i + " of " + out + "x" + r + "x" + in);
        // the estimate bounds what was seen: every value within estimate x σ_min of the dense route's
        double bound = LowRankSpectrum.errorEstimate(got, b, a, s) * got[k - 1];
        for (int i = 0; i < k; i++) assertTrue(Math.abs(dense[i] - got[i]) <= bound || got[k - 1] == 0, "sv " + i + " within the estimate");
        for (int i = k; i < dense.length; i++) assertEquals(0, dense[i], tol, "dense sv " + i + " beyond rank r");
    }

    @Test
    void factorRouteEqualsDgesddOfTheDenseProduct() {
        Random g = new Random(20);
        // q_proj-like, tall down_proj-like, wide, and r above one side (k = min(out, in, r))
        int[][] shapes = {{96, 8, 64}, {200, 16, 48}, {40, 4, 130}, {6, 12, 30}};
        for (int[] sh : shapes) {
            int out = sh[0], r = sh[1], in = sh[2];
            assertMatchesDense(gaussian(g, out * r), out, r, gaussian(g, r * in), in, 16.0 / r);
        }
        // rsLoRA's s = alpha / sqrt(r), and a negative alpha: σ scales by |s|
        assertMatchesDense(gaussian(g, 50 * 8), 50, 8, gaussian(g, 8 * 70), 70, 16 / Math.sqrt(8));
        assertMatchesDense(gaussian(g, 50 * 8), 50, 8, gaussian(g, 8 * 70), 70, -0.5);
    }

    @Test
    void rankDeficientFactors() {
        Random g = new Random(21);
        int out = 80, r = 8, in = 60;
        double[] b = gaussian(g, out * r), a = gaussian(g, r * in);
        // B's columns 5..7 copies/combinations of 0..2 and column 4 zero: rank(BA) = 4
        for (int i = 0; i < out; i++) {
            b[i * r + 4] = 0;
            b[i * r + 5] = b[i * r];
            b[i * r + 6] = 2 * b[i * r + 1] - b[i * r + 2];
            b[i * r + 7] = -b[i * r + 2];
        }
        assertMatchesDense(b, out, r, a, in, 2.0);
        double[] sv = LowRankSpectrum.singularValues(b, out, r, a, in, 2.0);
        for (int i = 4; i < r; i++) assertEquals(0, sv[i], 1e-13 * sv[0], "sv " + i + " beyond rank 4");
        // B exactly zero (PEFT's default init before training): all zero
        for (double v : LowRankSpectrum.singularValues(new double[out * r], out, r, a, in, 2.0)) assertEquals(0, v, 0);
    }

    @Test
    void mergedSumEqualsTheLoopFormedSum() {
        Random g = new Random(22);
        int out = 120, r = 4, in = 90;
        double[] w = gaussian(g, out * in), b = gaussian(g, out * r), a = gaussian(g, r * in);
        double[] merged = w.clone();
        LowRankSpectrum.addProduct(merged, b, out, r, a, in, 0.75);
        double[] ref = denseProduct(b, out, r, a, in, 0.75);
        for (int i = 0; i < ref.length; i++) ref[i] += w[i];
        for (int i = 0; i < ref.length; i++) assertEquals(ref[i], merged[i], 1e-12 * Math.abs(ref[i]) + 1e-14);
    }
}
