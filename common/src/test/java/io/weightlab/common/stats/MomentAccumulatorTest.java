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

    /**
     * A block of finite values takes the unrolled path, the same values with a NaN among them the checked one: every
     * statistic agrees (sums in another order: 1e-13 relative, 1e-12 for skewness and kurtosis), min, max, zeros and the count exactly, for odd and
     * even lengths and with -0.0 and 0.0 among the values.
     */
    @Test
    void finiteAndCheckedPathsAgree() {
        Random r = new Random(7);
        for (int len : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 8191}) {
            double[] v = new double[len];
            for (int i = 0; i < len; i++) v[i] = i % 6 == 5 ? (i % 12 == 5 ? -0.0 : 0.0) : 0.3 + r.nextGaussian() * Math.exp(r.nextGaussian());
            double[] withNan = java.util.Arrays.copyOf(v, len + 1);
            withNan[len / 2] = Double.NaN;
            withNan[len] = v[len / 2];
            MomentAccumulator fast = new MomentAccumulator(), checked = new MomentAccumulator();
            fast.addBlock(v, 0, len);
            checked.addBlock(withNan, 0, len + 1);
            String at = "length " + len;
            assertEquals(checked.count(), fast.count(), at);
            assertEquals(1, checked.nanCount(), at);
            assertEquals(checked.zeroCount(), fast.zeroCount(), at);
            assertEquals(checked.min(), fast.min(), at);
            assertEquals(checked.max(), fast.max(), at);
            assertEquals(checked.mean(), fast.mean(), 1e-13 * Math.abs(checked.mean()), at);
            if (len > 1) {
                assertEquals(checked.variancePopulation(), fast.variancePopulation(), 1e-13 * checked.variancePopulation(), at);
                assertEquals(checked.l1(), fast.l1(), 1e-13 * checked.l1(), at);
                assertEquals(checked.l2(), fast.l2(), 1e-13 * checked.l2(), at);
            }
            if (len > 3) {
                assertEquals(checked.skewness(), fast.skewness(), 1e-12 * Math.max(1, Math.abs(checked.skewness())), at);
                assertEquals(checked.excessKurtosis(), fast.excessKurtosis(), 1e-12 * Math.max(1, Math.abs(checked.excessKurtosis())), at);
            }
        }
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
