package io.weightlab.common.linalg;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The partial and Gram-route spectra against the exact dgesdd values of a real weight matrix. */
class RandomizedAndGramTest {

    static double[] matrix(String name) {
        Checkpoint c = CheckpointCatalog.open(new Configuration(), Fixtures.dir("all-minilm-l6-v2").toUri().toString());
        TensorInfo t = c.tensor(name);
        double[] a = new double[(int) t.elementCount()];
        try (RangeReader r = new RangeReader(new Configuration())) {
            ElementDecoder.decode(t.dtype(), r.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, a.length, a, 0);
        }
        return a;
    }

    @Test
    void gramRouteGivesTheTopOfTheSpectrumTo1e6() {
        double[] a = matrix("encoder.layer.0.intermediate.dense.weight"); // 1536 x 384
        int rows = 1536, cols = 384;
        double[] exact = Lapack.singularValues(a, rows, cols);
        double[] gram = new double[cols * cols];
        int block = 100; // row blocks as executors would see them
        for (int r0 = 0; r0 < rows; r0 += block) {
            int n = Math.min(block, rows - r0);
            Lapack.addGram(java.util.Arrays.copyOfRange(a, r0 * cols, (r0 + n) * cols), n, cols, gram);
        }
        double[] ev = Lapack.symmetricEigenvalues(gram, cols);
        for (int i = 0; i < 64; i++) {
            double sv = Math.sqrt(Math.max(0, ev[cols - 1 - i]));
            assertEquals(exact[i], sv, 1e-6 * exact[i], "sv " + i);
        }
    }

    @Test
    void randomizedTopKApproachesExactWithPowerIterations() {
        double[] a = matrix("encoder.layer.0.intermediate.dense.weight");
        int rows = 1536, cols = 384, k = 16;
        double[] exact = Lapack.singularValues(a, rows, cols);
        double prev = Double.POSITIVE_INFINITY;
        for (int q : new int[] {0, 2, 6}) {
            double[] top = RandomizedSvd.topSingularValues(RandomizedSvd.dense(a, rows, cols), k, 10, q, 42);
            double worst = 0;
            for (int i = 0; i < k; i++) {
                assertTrue(top[i] <= exact[i] * (1 + 1e-12), "randomized values never exceed the exact ones");
                worst = Math.max(worst, (exact[i] - top[i]) / exact[i]);
            }
            assertTrue(worst <= prev + 1e-12, "error must not grow with q: " + worst + " after " + prev);
            prev = worst;
            if (q == 6) assertTrue(worst < 1e-3, "top-16 after 6 power iterations: worst relative error " + worst);
        }
        assertArrayEquals(RandomizedSvd.topSingularValues(RandomizedSvd.dense(a, rows, cols), k, 10, 2, 42),
                RandomizedSvd.topSingularValues(RandomizedSvd.dense(a, rows, cols), k, 10, 2, 42), 0.0, "same seed, same answer");
    }

    /** Block Krylov: never above exact, and with the same products with A more accurate than power iterations. */
    @Test
    void blockKrylovBeatsPowerIterations() {
        double[] a = matrix("encoder.layer.0.intermediate.dense.weight");
        int rows = 1536, cols = 384, k = 16;
        double[] exact = Lapack.singularValues(a, rows, cols);
        double[] power = RandomizedSvd.topSingularValues(RandomizedSvd.dense(a, rows, cols), k, 8, 3, 5);
        double[] krylov = RandomizedSvd.topSingularValuesKrylov(RandomizedSvd.dense(a, rows, cols), k, 8, 3, 5);
        double ep = 0, ek = 0;
        for (int i = 0; i < k; i++) {
            assertTrue(krylov[i] <= exact[i] * (1 + 1e-12));
            ep = Math.max(ep, (exact[i] - power[i]) / exact[i]);
            ek = Math.max(ek, (exact[i] - krylov[i]) / exact[i]);
        }
        assertTrue(ek < ep, "krylov " + ek + " vs power " + ep);
        assertTrue(ek < 1e-3, "krylov top-16 error " + ek);
    }

    /** The one-pass Aᵀ(A X) over row blocks (several blocks and a short last one here) equals the two products. */
    @Test
    void fusedGramPassEqualsTheTwoProducts() {
        double[] a = matrix("encoder.layer.0.intermediate.dense.weight"); // 1536 x 384: 9 blocks of 170 rows and one of 6
        int rows = 1536, cols = 384, l = 16;
        float[] af = new float[a.length];
        for (int i = 0; i < a.length; i++) af[i] = (float) a[i];
        double[] x = RandomizedSvd.gaussianMatrix(cols, l, 3);
        double[] fused, twoPasses;
        try (RandomizedSvd.Operator op = RandomizedSvd.denseFloat(af, rows, cols)) {
            fused = op.gramTimes(x, l);
            twoPasses = op.transposeTimes(op.times(x, l), l);
        }
        double[] exact = Lapack.multiply(a, true, Lapack.multiply(a, false, x, false, rows, l, cols), false, cols, l, rows);
        double scale = 0;
        for (double v : exact) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < exact.length; i++) {
            // float32 products: both within 1e-5 of the largest entry of the double-precision result
            assertEquals(exact[i], fused[i], 1e-5 * scale, "fused " + i);
            assertEquals(exact[i], twoPasses[i], 1e-5 * scale, "two passes " + i);
        }
    }

    /**
     * topFactors re-orthonormalizes once per power step; the subspace is still torch.svd_lowrank's span(A (AᵀA)^q Ω):
     * against torch's ordering (orthonormalize after every product), run here in double from the same Ω.
     */
    @Test
    void topFactorsFindTorchsSubspace() {
        double[] a = matrix("encoder.layer.0.intermediate.dense.weight");
        int rows = 1536, cols = 384, k = 16, q = 4;
        long seed = 9;
        float[] af = new float[a.length];
        for (int i = 0; i < a.length; i++) af[i] = (float) a[i];
        Lapack.Factors ours;
        try (RandomizedSvd.Operator op = RandomizedSvd.denseFloat(af, rows, cols)) {
            ours = RandomizedSvd.topFactors(op, k, 0, q, seed);
        }
        double[] qm;
        double[] sTorch;
        try (RandomizedSvd.Operator op = RandomizedSvd.dense(a, rows, cols)) {
            qm = Lapack.orthonormalize(op.times(RandomizedSvd.gaussianMatrix(cols, k, seed), k), rows, k);
            for (int it = 0; it < q; it++) {
                qm = Lapack.orthonormalize(op.times(Lapack.orthonormalize(op.transposeTimes(qm, k), cols, k), k), rows, k);
            }
            sTorch = Lapack.singularValues(op.transposeTimes(qm, k), cols, k);
        }
        for (int i = 0; i < k; i++) assertEquals(sTorch[i], ours.s()[i], 1e-5 * sTorch[0], "sigma " + i);
        // ‖QQᵀ − UUᵀ‖_F² = 2k − 2‖QᵀU‖_F²
        double[] qtu = Lapack.multiply(qm, true, ours.u(), false, k, k, rows);
        double f = 0;
        for (double v : qtu) f += v * v;
        assertEquals(0, Math.sqrt(Math.max(0, 2 * k - 2 * f)), 1e-3, "projector distance to torch's subspace");
    }
}
