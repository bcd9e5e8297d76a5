package io.weightlab.common.lora;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * extract-lora's randomized route against the full SVD (DeltaExtraction.extract, dgesdd) on deltas of a fine-tune's
 * shapes: exactly low rank (the range is found whole: B·A = ΔW to rounding), and a decaying spectrum (Eckart–Young:
 * the exact route's residual is the optimum; the randomized one is measured on ΔW, so it is never below it and, with
 * 4 power iterations, within 1e-6 relative of it here). Also the energy cut, the size rule, and that the same seed
 * gives the same factors.
 */
class RandomizedDeltaExtractionTest {
    static final int OUT = 600, IN = 540;

    /** Σ_t σ_t u_t v_tᵀ with orthonormal-ish random u, v and σ_t = decay^t, t < rank; plus noise. */
    static double[] delta(long seed, int rank, double decay, double noise) {
        Random g = new Random(seed);
        double[] d = new double[OUT * IN];
        for (int t = 0; t < rank; t++) {
            double[] u = new double[OUT], v = new double[IN];
            for (int i = 0; i < OUT; i++) u[i] = g.nextGaussian() / Math.sqrt(OUT);
            for (int j = 0; j < IN; j++) v[j] = g.nextGaussian() / Math.sqrt(IN);
            double s = Math.pow(decay, t);
            for (int i = 0; i < OUT; i++) for (int j = 0; j < IN; j++) d[i * IN + j] += s * u[i] * v[j];
        }
        for (int i = 0; i < d.length; i++) d[i] += noise * g.nextGaussian();
        return d;
    }

    @Test
    void anExactlyLowRankDeltaIsRecoveredWhole() {
        double[] d = delta(3, 6, 0.7, 0);
        DeltaExtraction.Result rnd = DeltaExtraction.extractRandomized(d.clone(), OUT, IN, 8, 1, 1e-9, 2, 42);
        DeltaExtraction.Result exact = DeltaExtraction.extract(d.clone(), OUT, IN, 8, 1, 1e-9);
        assertEquals(6, exact.rank(), "dgesdd: the values past rank 6 are rounding, below the 1e-9 cut");
        assertEquals(6, rnd.rank(), "the range finder with 18 directions holds the 6-dimensional range whole");
        assertTrue(rnd.residualEnergy() < 1e-12, "residual " + rnd.residualEnergy());
        double[] pr = GramDeltaExtractionTest.product(rnd.factors()), pe = GramDeltaExtractionTest.product(exact.factors());
        double scale = GramDeltaExtractionTest.maxAbs(d);
        for (int i = 0; i < d.length; i++) {
            assertEquals(d[i], pr[i], 1e-6 * scale, "element " + i + " (float32 factors)");
            assertEquals(pe[i], pr[i], 1e-6 * scale, "element " + i);
        }
        assertEquals(exact.sigmaMax(), rnd.sigmaMax(), 1e-12 * exact.sigmaMax());
        assertEquals(exact.sigmaKept(), rnd.sigmaKept(), 1e-10 * exact.sigmaMax());
        assertEquals(exact.frobenius(), rnd.frobenius(), 1e-12 * exact.frobenius());
    }

    @Test
    void aDecayingSpectrumMeetsTheOptimumAndTheResidualIsMeasured() {
        double[] d = delta(5, 60, 0.85, 1e-5);
        for (int r : new int[] {4, 16}) {
            DeltaExtraction.Result exact = DeltaExtraction.extract(d.clone(), OUT, IN, r, 1, 0);
            DeltaExtraction.Result rnd = DeltaExtraction.extractRandomized(d.clone(), OUT, IN, r, 1, 0, 4, 7);
            assertEquals(r, rnd.rank());
            // Eckart–Young: no rank-r factors beat the SVD's; the measured residual of ours is at most 1e-6 relative above it
            assertTrue(rnd.residualEnergy() >= exact.residualEnergy() * (1 - 1e-12), rnd + " vs " + exact);
            assertEquals(exact.residualEnergy(), rnd.residualEnergy(), 1e-6 * exact.residualEnergy(), "r " + r);
            assertEquals(exact.sigmaKept(), rnd.sigmaKept(), 1e-6 * exact.sigmaKept(), "r " + r);
            // the residual reported is ‖ΔW − U S Vᵀ‖ itself: recomputed here from the float factors (their rounding, 1e-6)
            double[] p = GramDeltaExtractionTest.product(rnd.factors());
            double res = 0, tot = 0;
            for (int i = 0; i < d.length; i++) { res += (d[i] - p[i]) * (d[i] - p[i]); tot += d[i] * d[i]; }
            assertEquals(Math.sqrt(res / tot), rnd.residualEnergy(), 1e-5 * rnd.residualEnergy(), "r " + r);
        }
    }

    @Test
    void theEnergyCutTakesTheSameRankAsTheFullSpectrum() {
        double[] d = delta(9, 40, 0.6, 0);
        for (double energy : new double[] {0.5, 0.9, 0.99}) {
            DeltaExtraction.Result exact = DeltaExtraction.extract(d.clone(), OUT, IN, 16, energy, 0);
            DeltaExtraction.Result rnd = DeltaExtraction.extractRandomized(d.clone(), OUT, IN, 16, energy, 0, 4, 1);
            assertEquals(exact.rank(), rnd.rank(), "energy " + energy);
            assertTrue(rnd.rank() < 16, "the cut is below r: " + rnd.rank());
        }
    }

    @Test
    void theSameSeedGivesTheSameFactorsAndTheSizeRuleIsFourTimesLessArithmetic() {
        double[] d = delta(2, 30, 0.8, 1e-4);
        LoraFactors a = DeltaExtraction.extractRandomized(d.clone(), OUT, IN, 8, 1, 0, 4, 11).factors();
        LoraFactors b = DeltaExtraction.extractRandomized(d.clone(), OUT, IN, 8, 1, 0, 4, 11).factors();
        LoraFactors c = DeltaExtraction.extractRandomized(d.clone(), OUT, IN, 8, 1, 0, 0, 12).factors();
        assertArrayEquals(a.a(), b.a());
        assertArrayEquals(a.b(), b.b());
        assertFalse(java.util.Arrays.equals(a.a(), c.a()), "another seed and no power iterations: other factors");
        // 2 (r + 10)(2q + 2) <= min(out, in): r = 16, q = 4 -> 520
        assertTrue(DeltaExtraction.randomizedPays(2048, 8192, 16, 4));
        assertTrue(DeltaExtraction.randomizedPays(520, 520, 16, 4));
        assertFalse(DeltaExtraction.randomizedPays(519, 4096, 16, 4));
        assertFalse(DeltaExtraction.randomizedPays(384, 384, 16, 4), "MiniLM's modules stay exact");
        assertFalse(DeltaExtraction.randomizedPays(4096, 4096, 256, 4), "a large rank: the full SVD");
    }
}
