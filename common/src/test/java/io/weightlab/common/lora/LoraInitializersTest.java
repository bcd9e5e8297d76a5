package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Closed-form oracles of docs/algorithms.md §3 on a matrix with a known, decaying spectrum. */
class LoraInitializersTest {
    static final int M = 120, N = 80, R = 6;

    /** W = U diag(σ) Vᵀ with σ_i = 0.9^i, tripled for i < R (a gap at the rank), random orthonormal U, V. */
    static double[] matrix() {
        SplittableRandom rng = new SplittableRandom(4);
        double[] gu = new double[M * N], gv = new double[N * N];
        for (int i = 0; i < gu.length; i++) gu[i] = rng.nextGaussian();
        for (int i = 0; i < gv.length; i++) gv[i] = rng.nextGaussian();
        double[] u = Lapack.orthonormalize(gu, M, N), v = Lapack.orthonormalize(gv, N, N);
        for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) u[i * N + j] *= Math.pow(0.9, j) * (j < R ? 3 : 1);
        return Lapack.multiply(u, false, v, true, M, N, N);
    }

    static double[] product(LoraFactors f, double s) {
        double[] a = new double[f.a().length], b = new double[f.b().length];
        for (int i = 0; i < a.length; i++) a[i] = f.a()[i];
        for (int i = 0; i < b.length; i++) b[i] = f.b()[i] * s;
        return Lapack.multiply(b, false, a, false, M, N, R);
    }

    /** max |P_x − P_y| of the projectors onto the column spaces of two M x R matrices. */
    static double projectorDistance(double[] x, double[] y) {
        double[] qx = Lapack.orthonormalize(x, M, R), qy = Lapack.orthonormalize(y, M, R);
        double[] px = Lapack.multiply(qx, false, qx, true, M, M, R), py = Lapack.multiply(qy, false, qy, true, M, M, R);
        double d = 0;
        for (int i = 0; i < px.length; i++) d = Math.max(d, Math.abs(px[i] - py[i]));
        return d;
    }

    static double[] bOf(LoraFactors f) {
        double[] b = new double[f.b().length];
        for (int i = 0; i < b.length; i++) b[i] = f.b()[i];
        return b;
    }

    @Test
    void topSvdByTheGramMatchesTheFullGesddOnTallAndWideMatrices() {
        double[] w = matrix();
        double[] wt = new double[w.length];
        for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) wt[j * M + i] = w[i * N + j];
        for (boolean tall : new boolean[] {true, false}) {
            int rows = tall ? M : N, cols = tall ? N : M;
            double[] a = tall ? w : wt;
            Lapack.Factors full = Lapack.svd(a, rows, cols), top = Lapack.topSvd(a, rows, cols, R);
            for (int t = 0; t < R; t++) {
                assertEquals(full.s()[t], top.s()[t], 1e-13 * full.s()[0], "sigma_" + t);
                double du = 0, dv = 0; // sign-invariant: |<u_full, u_top>| = 1
                for (int i = 0; i < rows; i++) du += full.u()[i * full.k() + t] * top.u()[i * R + t];
                for (int j = 0; j < cols; j++) dv += full.vt()[t * cols + j] * top.vt()[t * cols + j];
                assertEquals(1.0, Math.abs(du), 1e-12, (tall ? "tall" : "wide") + " u_" + t);
                assertEquals(Math.signum(du), Math.signum(dv), (tall ? "tall" : "wide") + ": u and v flip together");
                assertEquals(1.0, Math.abs(dv), 1e-12, (tall ? "tall" : "wide") + " v_" + t);
            }
        }
    }

    @Test
    void pissaTakesTheTopTripletsAndRandomizedConvergesAsNiterGrows() {
        double[] w = matrix();
        double s = 2.0;
        LoraFactors exact = LoraRegistry.create("pissa").init(ModuleData.ofWeight(w, M, N), R, s, 0);
        double[] res = w.clone();
        double[] sba = product(exact, s);
        for (int i = 0; i < res.length; i++) res[i] -= sba[i];
        double[] sv = Lapack.singularValues(res, M, N);
        assertEquals(Math.pow(0.9, R), sv[0], 1e-6, "‖W_res‖₂ = σ_{r+1} (float32 factors)");
        double prev = Double.POSITIVE_INFINITY;
        for (int k : new int[] {0, 2, 8}) {
            double d = projectorDistance(bOf(new PissaNiterInitializer(k).init(ModuleData.ofWeight(w, M, N), R, s, 11)), bOf(exact));
            assertTrue(d < prev, "niter " + k + ": subspace distance " + d + " should shrink (previous " + prev + ")");
            prev = d;
        }
        assertTrue(prev < 1e-3, "niter 8 subspace distance " + prev);
    }

    @Test
    void oloraHasOrthonormalBAndTrapezoidalA() {
        LoraFactors f = new OloraInitializer().init(ModuleData.ofWeight(matrix(), M, N), R, 2.0, 0);
        double[] b = bOf(f);
        double[] btb = Lapack.multiply(b, true, b, false, R, R, M);
        for (int i = 0; i < R; i++) for (int j = 0; j < R; j++) assertEquals(i == j ? 1 : 0, btb[i * R + j], 1e-6);
        for (int i = 0; i < R; i++) for (int j = 0; j < i; j++) assertEquals(0f, f.a()[i * N + j], "A is upper-trapezoidal");
    }

    @Test
    void orthogonalPlainLoraHasZeroProductButNonZeroFactors() {
        LoraFactors f = new PlainLoraInitializer(PlainLoraInitializer.Kind.ORTHOGONAL).init(ModuleData.ofWeight(matrix(), M, N), R, 1.0, 3);
        double[] ba = product(f, 1.0);
        double maxBa = 0, maxA = 0;
        for (double v : ba) maxBa = Math.max(maxBa, Math.abs(v));
        for (float v : f.a()) maxA = Math.max(maxA, Math.abs(v));
        assertTrue(maxA > 0.01, "A is not zero");
        assertEquals(0.0, maxBa, 1e-7, "B·A = 0 (q_even q_oddᵀ = 0)");
    }
}
