package io.weightlab.common.merge.adapter;

import io.weightlab.common.merge.adapter.PeftMergeFunctions.Prune;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** PEFT's merge_utils on hand-worked tensors (the job test compares with PEFT itself on real adapters). */
class PeftMergeFunctionsTest {
    @Test
    void magnitudeKeepsTheLargestAndTiesAtTheCutInIndexOrder() {
        double[] t = {0.5, -2, 1, -1, 3};
        PeftMergeFunctions.keepLargest(t, 3);   // |3|, |-2|, then one of the two |1|: the first
        assertArrayEquals(new double[] {0, -2, 1, 0, 3}, t, 0);
        double[] z = {1, 2};
        PeftMergeFunctions.keepLargest(z, 0);
        assertArrayEquals(new double[] {0, 0}, z, 0);
    }

    @Test
    void tiesElectsTheSignFromUnweightedValuesAndAveragesTheAgreeingWeighted() {
        // element 0: total 1 - 3 + 1 = -1 -> '-', only input 1 agrees: (-3 * 2) / 1
        // element 1: frequency would be +, total 2 - 1 + 0 = 1 -> '+': (2*1 + 0) / 1; a zero never agrees
        double[][] t = {{1, 2}, {-3, -1}, {1, 0}};
        double[] w = {1, 2, 0.5};
        assertArrayEquals(new double[] {-6, 2}, PeftMergeFunctions.merge(copy(t), w, Prune.NONE, true, false, 1, 0, "x"), 1e-15);
        // frequency: element 0 signs +, -, + -> '+': (1*1 + 1*0.5) / 2
        assertArrayEquals(new double[] {0.75, 2}, PeftMergeFunctions.merge(copy(t), w, Prune.NONE, true, true, 1, 0, "x"), 1e-15);
        assertArrayEquals(new double[] {1 - 6 + 0.5, 2 - 2}, PeftMergeFunctions.merge(copy(t), w, Prune.NONE, false, false, 1, 0, "x"), 1e-15);
    }

    @Test
    void clampIsAtTheLinearlyInterpolatedQuantileOfBothFactors() {
        double[] a = {0, 1, 2, 3}, b = {4, -5};   // sorted: -5 0 1 2 3 4; q = 0.9: position 4.5 -> 3.5
        SvdCombination.clamp(a, b, 0.9);
        assertArrayEquals(new double[] {0, 1, 2, 3}, a, 0);
        assertArrayEquals(new double[] {3.5, -3.5}, b, 0);
    }

    private static double[][] copy(double[][] t) {
        double[][] c = new double[t.length][];
        for (int i = 0; i < t.length; i++) c[i] = t[i].clone();
        return c;
    }
}
