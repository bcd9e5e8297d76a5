package io.weightlab.common.stats;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MomentAccumulatorTest {

    /** Closed form: values 1..n have mean (n+1)/2, population variance (n^2-1)/12, excess kurtosis -6(n^2+1)/(5(n^2-1)). */
    @Test
    void closedFormOfTheIntegers() {
        int n = 100_001;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = i + 1;
        MomentAccumulator a = new MomentAccumulator();
        for (int off = 0; off < n; off += 777) a.addBlock(v, off, Math.min(777, n - off));
        double nn = n;
        assertEquals((nn + 1) / 2, a.mean(), 1e-9);
        assertEquals((nn * nn - 1) / 12, a.variancePopulation(), 1e-9 * (nn * nn - 1) / 12);
        assertEquals(-6 * (nn * nn + 1) / (5 * (nn * nn - 1)), a.excessKurtosis(), 1e-9);
        assertEquals(0.0, a.skewness(), 1e-9);
    }

    /** A huge mean with a tiny spread: the naive sum-of-squares formula would lose every digit here. */
    @Test
    void largeOffsetDoesNotCancel() {
        Random r = new Random(1);
        int n = 200_000;
        double[] v = new double[n];
        double[] centered = new double[n];
        for (int i = 0; i < n; i++) {
            centered[i] = r.nextGaussian() * 1e-3;
            v[i] = 1e6 + centered[i];
        }
        MomentAccumulator a = new MomentAccumulator();
        for (int off = 0; off < n; off += 5000) a.addBlock(v, off, 5000);
        MomentAccumulator b = new MomentAccumulator();
        b.addBlock(centered, 0, n);
        assertEquals(b.variancePopulation(), a.variancePopulation(), 1e-6 * b.variancePopulation());
        assertEquals(b.excessKurtosis(), a.excessKurtosis(), 1e-3);
    }

    @Test
    void mergeIsOrderIndependentAndMatchesOnePass() {
        Random r = new Random(2);
        double[] v = new double[50_000];
        for (int i = 0; i < v.length; i++) v[i] = Math.pow(r.nextGaussian(), 3) + 0.5;
        MomentAccumulator whole = new MomentAccumulator();
        whole.addBlock(v, 0, v.length);
        MomentAccumulator left = new MomentAccumulator(), right = new MomentAccumulator();
        left.addBlock(v, 0, 12_345);
        right.addBlock(v, 12_345, v.length - 12_345);
        MomentAccumulator lr = new MomentAccumulator().merge(left).merge(right);
        MomentAccumulator rl = new MomentAccumulator().merge(right).merge(left);
        for (MomentAccumulator m : new MomentAccumulator[] {lr, rl}) {
            assertEquals(whole.mean(), m.mean(), 1e-12);
            assertEquals(whole.variancePopulation(), m.variancePopulation(), 1e-12 * whole.variancePopulation());
            assertEquals(whole.skewness(), m.skewness(), 1e-10);
            assertEquals(whole.excessKurtosis(), m.excessKurtosis(), 1e-10);
            assertEquals(whole.min(), m.min());
            assertEquals(whole.max(), m.max());
        }
    }

    @Test
    void nonFiniteValuesAreCountedNotMixedIn() {
        MomentAccumulator a = new MomentAccumulator();
        a.addBlock(new double[] {1, Double.NaN, 3, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0}, 0, 6);
        assertEquals(3, a.count());
        assertEquals(1, a.nanCount());
        assertEquals(1, a.posInfCount());
        assertEquals(1, a.negInfCount());
        assertEquals(4.0 / 3, a.mean(), 1e-15);
        assertEquals(1, a.zeroCount());
        assertEquals(3.0, a.max());
    }

    @Test
    void constantTensorHasZeroVarianceAndNoKurtosis() {
        MomentAccumulator a = new MomentAccumulator();
        a.addBlock(new double[] {2, 2, 2, 2}, 0, 4);
        assertEquals(0.0, a.variancePopulation());
        assertTrue(Double.isNaN(a.excessKurtosis()));
        assertTrue(Double.isNaN(a.skewness()));
    }
}
