package io.weightlab.common.synth;

import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.MomentAccumulator;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The synthetic GG draw: the same values however the tensor is sliced, and the moments of the distribution asked for. */
class GgDrawActionTest {
    @Test
    void valuesDoNotDependOnHowTheTensorIsSliced() {
        GgDrawAction a = new GgDrawAction(7, "model.layers.3.mlp.down_proj.weight", 1.4, 0.02, 0);
        int n = 300_001;
        double[] whole = new double[n];
        a.apply(0, whole, n);
        double[] pieces = new double[n];
        int[] cuts = {0, 1, 65_535, 65_536, 65_537, 200_000, 299_999, n};
        for (int i = 0; i + 1 < cuts.length; i++) {
            double[] part = new double[cuts[i + 1] - cuts[i]];
            a.apply(cuts[i], part, part.length);
            System.arraycopy(part, 0, pieces, cuts[i], part.length);
        }
        assertArrayEquals(whole, pieces, 0.0, "slices starting inside a 65,536-element block replay it exactly");
        double[] other = new double[1000];
        new GgDrawAction(7, "model.layers.4.mlp.down_proj.weight", 1.4, 0.02, 0).apply(0, other, 1000);
        assertEquals(false, java.util.Arrays.equals(java.util.Arrays.copyOf(whole, 1000), other), "another tensor name, other values");
    }

    @Test
    void drawsHaveTheStdLocationAndKurtosisOfTheRequestedShape() {
        for (double beta : new double[] {0.8, 1.3, 2.0, 3.0}) {
            int n = 2_000_000;
            double[] v = new double[n];
            new GgDrawAction(1, "t" + beta, beta, 0.05, 1.0).apply(0, v, n);
            MomentAccumulator m = new MomentAccumulator();
            m.addBlock(v, 0, n);
            // standard errors at n = 2e6: mean 0.05/1414 = 3.5e-5; std ~1e-4 relative x kurtosis; excess kurtosis ~ sqrt(24/n)·(1 + k)
            assertEquals(1.0, m.mean(), 2e-4, "beta " + beta + " location");
            assertEquals(0.05, m.stdPopulation(), 0.05 * 5e-3, "beta " + beta + " std");
            double k = GeneralizedGaussian.excessKurtosis(beta);
            assertEquals(k, m.excessKurtosis(), 0.03 + 0.03 * k, "beta " + beta + " excess kurtosis");
        }
    }
}
