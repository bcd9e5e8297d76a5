package io.weightlab.common.lora;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Gram route against the whole-matrix dgesdd route (DeltaExtraction) on tall deltas: the same rank, σ and residual
 * energy, and B·A the same rank-k approximation, read in slices that do not divide the row count; as an embedding
 * (transposed) the factors are those of ΔWᵀ.
 */
class GramDeltaExtractionTest {
    static final int ROWS = 300, COLS = 24;

    /** Rank 4 with σ spread over 10x, plus noise at 1e-4. */
    static double[] delta(long seed, double noise) {
        Random g = new Random(seed);
        double[] d = new double[ROWS * COLS];
        for (int t = 0; t < 4; t++) {
            double[] u = new double[ROWS], v = new double[COLS];
            for (int i = 0; i < ROWS; i++) u[i] = g.nextGaussian();
            for (int j = 0; j < COLS; j++) v[j] = g.nextGaussian() * Math.pow(0.5, t);
            for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) d[i * COLS + j] += u[i] * v[j];
        }
        for (int i = 0; i < d.length; i++) d[i] += noise * g.nextGaussian();
        return d;
    }

    static GramDeltaExtraction.Rows rows(double[] d) {
        return (first, count) -> java.util.Arrays.copyOfRange(d, (int) first * COLS, (int) (first + count) * COLS);
    }

    /** B·A as [out, in] from float factors. */
    static double[] product(LoraFactors f) {
        double[] p = new double[f.out() * f.in()];
        for (int i = 0; i < f.out(); i++) for (int j = 0; j < f.in(); j++) {
            double s = 0;
            for (int t = 0; t < f.r(); t++) s += (double) f.b()[i * f.r() + t] * f.a()[t * f.in() + j];
            p[i * f.in() + j] = s;
        }
        return p;
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    @Test
    void matchesTheWholeMatrixSvdAsALinearAndAsAnEmbedding() throws Exception {
        double[] d = delta(7, 1e-4);
        for (int r : new int[] {2, 6}) {
            DeltaExtraction.Result exact = DeltaExtraction.extract(d.clone(), ROWS, COLS, r, 1, 0);
            DeltaExtraction.Result gram = GramDeltaExtraction.extract(rows(d), ROWS, COLS, r, 1, 0, false, 37);
            assertEquals(exact.rank(), gram.rank());
            assertEquals(exact.sigmaMax(), gram.sigmaMax(), 1e-12 * exact.sigmaMax());
            assertEquals(exact.sigmaKept(), gram.sigmaKept(), 1e-9 * exact.sigmaMax(), "r " + r);
            assertEquals(exact.residualEnergy(), gram.residualEnergy(), 1e-9, "r " + r);
            assertEquals(exact.frobenius(), gram.frobenius(), 1e-12 * exact.frobenius());
            double[] pe = product(exact.factors()), pg = product(gram.factors());
            for (int i = 0; i < pe.length; i++) assertEquals(pe[i], pg[i], 1e-6 * maxAbs(pe), "r " + r + " element " + i);

            DeltaExtraction.Result embedding = GramDeltaExtraction.extract(rows(d), ROWS, COLS, r, 1, 0, true, 37);
            LoraFactors f = embedding.factors();
            assertEquals(COLS, f.out());
            assertEquals(ROWS, f.in(), "PEFT's embedding: in = num_embeddings");
            double[] pt = product(f);   // ΔWᵀ's approximation
            for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) assertEquals(pg[i * COLS + j], pt[j * ROWS + i], 1e-6 * maxAbs(pe));
        }
    }

    @Test
    void anExactlyLowRankDeltaKeepsItsRankAndNothingElse() throws Exception {
        double[] d = delta(11, 0);
        DeltaExtraction.Result gram = GramDeltaExtraction.extract(rows(d), ROWS, COLS, 8, 1, 0, false, 64);
        assertEquals(4, gram.rank(), "singular values below √(cols·ε)·σ₁ are rounding, not rank");
        assertTrue(gram.residualEnergy() < 1e-12, "residual " + gram.residualEnergy());
        double[] p = product(gram.factors());
        for (int i = 0; i < d.length; i++) assertEquals(d[i], p[i], 1e-6 * maxAbs(d));
        assertNull(GramDeltaExtraction.extract(rows(new double[ROWS * COLS]), ROWS, COLS, 8, 1, 0, false, 64).factors(), "ΔW = 0: no adapter");
    }
}
