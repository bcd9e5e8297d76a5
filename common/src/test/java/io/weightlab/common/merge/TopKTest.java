package io.weightlab.common.merge;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The distributed top-k search against a full sort (|τ| descending, index ascending), on values with many ties
 * (deltas of bfloat16-like values) and continuous ones, for every k from 0 to n, with histograms from uneven
 * slices merged in any order and the kept set marked slice by slice at unaligned boundaries.
 */
class TopKTest {
    static final int UNIT = 97;

    static boolean[] reference(double[] tau, long k) {
        Integer[] idx = IntStream.range(0, tau.length).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> -Math.abs(tau[i])).thenComparingInt(i -> i));
        boolean[] keep = new boolean[tau.length];
        for (int j = 0; j < k; j++) keep[idx[j]] = true;
        return keep;
    }

    static boolean[] search(double[] tau, long k, Random rnd) {
        TopK.Search s = new TopK.Search(k, tau.length);
        int passes = 0;
        while (!s.done()) {
            passes++;
            TopK.Histogram total = new TopK.Histogram();
            // uneven slices, merged in a shuffled order
            int from = 0;
            java.util.List<TopK.Histogram> parts = new java.util.ArrayList<>();
            while (from < tau.length) {
                int len = Math.min(tau.length - from, 1 + rnd.nextInt(50));
                TopK.Histogram h = new TopK.Histogram();
                h.add(s, Arrays.copyOfRange(tau, from, from + len), len);
                parts.add(h);
                from += len;
            }
            java.util.Collections.shuffle(parts, rnd);
            for (TopK.Histogram h : parts) total.merge(h);
            s.advance(total);
            assertTrue(passes <= 6, "at most 6 passes");
        }
        if (s.needsEqualCounts()) {
            long[] counts = new long[(tau.length + UNIT - 1) / UNIT];
            for (int j = 0; j < tau.length; j++) if (TopK.key(tau[j]) == s.cut().key()) counts[j / UNIT]++;
            s.setEqualCounts(UNIT, counts);
        }
        TopK.Cut cut = s.cut();
        boolean[] keep = new boolean[tau.length];
        int from = 0;
        while (from < tau.length) {
            int len = Math.min(tau.length - from, 1 + rnd.nextInt(150));
            long eq = cut.eqBefore(from);
            if (eq < 0) { // not at a unit start: count from the unit's start, as MergeAction does
                int unitStart = from - from % UNIT;
                eq = cut.eqBeforeUnit()[from / UNIT];
                for (int j = unitStart; j < from; j++) if (TopK.key(tau[j]) == cut.key()) eq++;
            }
            boolean[] part = new boolean[len];
            cut.mark(Arrays.copyOfRange(tau, from, from + len), len, eq, part);
            System.arraycopy(part, 0, keep, from, len);
            from += len;
        }
        return keep;
    }

    @Test
    void theKeptSetIsTheSortsForEveryKWithManyTies() {
        Random rnd = new Random(11);
        double[] tau = new double[600];
        // bf16-like: few distinct magnitudes, both signs, zeros
        for (int j = 0; j < tau.length; j++) tau[j] = (rnd.nextInt(9) - 4) * 0.0078125 * (rnd.nextBoolean() ? 1 : 0.5);
        for (long k = 0; k <= tau.length; k++) {
            boolean[] got = search(tau, k, rnd);
            assertArrayEquals(reference(tau, k), got, "k = " + k);
            int n = 0;
            for (boolean b : got) if (b) n++;
            assertEquals(k, n);
        }
    }

    @Test
    void continuousValuesAndExtremes() {
        Random rnd = new Random(5);
        double[] tau = new double[1000];
        for (int j = 0; j < tau.length; j++) tau[j] = rnd.nextGaussian() * Math.pow(10, rnd.nextInt(20) - 10);
        tau[3] = 0.0;
        tau[4] = -0.0;
        tau[5] = Double.MIN_VALUE;
        for (long k : new long[] {0, 1, 2, 499, 500, 997, 998, 999, 1000}) assertArrayEquals(reference(tau, k), search(tau, k, rnd), "k = " + k);
    }

    @Test
    void breadcrumbsBandIsTopKeepMinusTopOutliers() {
        // n = 1000, density 0.9, gamma 0.01: drop the 10 largest and the 90 smallest
        assertArrayEquals(new long[] {910, 10}, TaskArithmeticFamily.outlierBand(0.9, 0.01, 1000));
        // density + gamma > 1: nothing small is dropped, the top shrinks so density stays
        assertArrayEquals(new long[] {1000, 50}, TaskArithmeticFamily.outlierBand(0.95, 0.1, 1000));
    }

    @Test
    void gradientsAndFiltersResolveAsMergekitDocuments() throws Exception {
        // mergekit's oracle: [0, 1] over 5 layers gives 0, .25, .5, .75, 1; embeddings get v[0]; one layer gets v[-1]
        for (int k = 0; k < 5; k++) assertEquals(k / 4.0, RecipeValue.gradient(new double[] {0, 1}, RecipeValue.layerPosition(k, 5)), 1e-15);
        assertEquals(0.0, RecipeValue.layerPosition(null, 5));
        assertEquals(1.0, RecipeValue.layerPosition(0, 1));
        assertEquals(0.7, RecipeValue.gradient(new double[] {0, 0.5, 0.3, 0.7, 1}, 0.75), 1e-15);
        var v = new com.fasterxml.jackson.databind.ObjectMapper().readTree("[{\"filter\": \"self_attn\", \"value\": [0, 1]}, {\"filter\": \"mlp\", \"value\": 0.3}]");
        assertEquals("0.5", RecipeValue.resolve(v, "model.layers.2.self_attn.q_proj.weight", 0.5, "t"));
        assertEquals("0.3", RecipeValue.resolve(v, "model.layers.2.mlp.up_proj.weight", 0.5, "t"));
        assertEquals(null, RecipeValue.resolve(v, "model.norm.weight", 0, "t")); // falls through to the next level
    }
}
