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
}
