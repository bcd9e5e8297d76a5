package io.weightlab.common.transform;

import io.weightlab.common.linalg.Lapack;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The exact identities of the deterministic initialisers (docs/algorithms.md §6.1, §6.2). */
class InitActionsTest {

    static double[] full(TensorAction a, int n) {
        double[] v = new double[n];
        a.apply(0, v, n);
        return v;
    }

    @Test
    void idInitIsThePaddedIdentity() {
        double[] sq = full(new IdentityPatternAction(1.0, 4, 4), 16);
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) assertEquals(i == j ? 1.0 : 0.0, sq[i * 4 + j]);
        // D_out = 2·D_in: W = τ[I; I]
        double[] tall = full(new IdentityPatternAction(0.5, 6, 3), 18);
        for (int i = 0; i < 6; i++) for (int j = 0; j < 3; j++) assertEquals(i % 3 == j ? 0.5 : 0.0, tall[i * 3 + j]);
        // D_out < D_in: identities side by side; every column sum is τ once per wrap
        double[] wide = full(new IdentityPatternAction(2.0, 2, 5), 10);
        assertArrayEquals(new double[] {2, 0, 2, 0, 2, 0, 2, 0, 2, 0}, wide, 0.0);
        // slicing does not change a value
        double[] part = new double[7];
        new IdentityPatternAction(0.5, 6, 3).apply(5, part, 7);
        for (int k = 0; k < 7; k++) assertEquals(tall[5 + k], part[k]);
    }

    @Test
    void orthogonalHasOrthonormalRowsOrColumns() {
        for (int[] shape : new int[][] {{48, 80}, {80, 48}, {64, 64}}) {
            int r = shape[0], c = shape[1];
            double[] w = full(new OrthogonalAction(3, "w", 1.5, r, c), r * c);
            boolean wide = r <= c;
            int k = Math.min(r, c);
            double[] g = wide ? Lapack.multiply(w, false, w, true, r, r, c) : Lapack.multiply(w, true, w, false, c, c, r);
            for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) assertEquals(i == j ? 2.25 : 0.0, g[i * k + j], 1e-12, r + "x" + c);
            // torch's sign rule: Q's columns signed by diag(R) — the result is reproducible, not sign-ambiguous
            assertArrayEquals(w, full(new OrthogonalAction(3, "w", 1.5, r, c), r * c), 0.0);
        }
    }

    @Test
    void affineRescaleHitsTheTargetStdAndKeepsTheMean() {
        double[] v = full(new DrawnAction(1, "x", Samplers.normal(0.07)), 100_000);
        for (int i = 0; i < v.length; i++) v[i] += 0.003;
        io.weightlab.common.stats.MomentAccumulator m = SamplersTest.moments(v);
        double scale = 0.02 / m.stdSample();
        new AffineAction(scale, m.mean() * (1 - scale)).apply(0, v, v.length);
        io.weightlab.common.stats.MomentAccumulator after = SamplersTest.moments(v);
        assertEquals(0.02, after.stdSample(), 0.02 * 1e-12);
        assertEquals(m.mean(), after.mean(), 1e-15);
    }
}
