package io.weightlab.common.stats;

import io.weightlab.common.model.DType;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantileSummaryTest {
    private static double exact(double[] sorted, double p) {
        return sorted[Math.max(0, (int) Math.ceil(p * sorted.length - 1e-9) - 1)];
    }

    /** Heavy-tailed values spanning many orders of magnitude: every quantile within 2^-8 relative. */
    @Test
    void bucketedQuantilesAreWithinTheStatedRelativeError() {
        Random r = new Random(11);
        double[] v = new double[200_001];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian() * Math.exp(3 * r.nextGaussian());
        QuantileSummary a = QuantileSummary.bucketed(), b = QuantileSummary.bucketed();
        a.addValues(v, 0, 100_000);
        b.addValues(v, 100_000, v.length - 100_000);
        a.merge(b);
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        double[] ps = {0, 0.001, 0.01, 0.25, 0.5, 0.75, 0.99, 0.999, 1};
        double[] q = a.quantiles(ps);
        for (int i = 0; i < ps.length; i++) {
            double e = exact(sorted, ps[i]);
            assertEquals(e, q[i], QuantileSummary.BUCKET_RELATIVE_ERROR * Math.abs(e), "p=" + ps[i]);
        }
    }

    /**
     * Exact BF16 counts with many ties, probabilities given out of order and on cumulative-count boundaries (p·n whole):
     * each quantile is exactly the sorted values' smallest whose cumulative count reaches p·n.
     */
    @Test
    void exactQuantilesEqualTheSortedValuesInAnyProbabilityOrder() {
        Random r = new Random(5);
        int n = 1000;
        byte[] raw = new byte[2 * n];
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            float f = (float) Math.round(r.nextGaussian() * 8) / 4f; // 40-odd distinct values, exactly representable in BF16
            int code = Float.floatToRawIntBits(f) >>> 16;
            raw[2 * i] = (byte) code;
            raw[2 * i + 1] = (byte) (code >>> 8);
            values[i] = f;
        }
        QuantileSummary s = QuantileSummary.forType(DType.BF16, true);
        s.addRaw(raw, 0, n);
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double[] ps = {0.5, 1, 0, 0.999, 0.25, 0.001, 0.75, 0.123, 0.01, 0.99};
        double[] q = s.quantiles(ps);
        for (int i = 0; i < ps.length; i++) {
            double e = exact(sorted, ps[i]);
            assertEquals(e == 0.0 ? 0.0 : e, q[i], 0.0, "p=" + ps[i]);
        }
    }

    @Test
    void zerosReportAsZeroAndNonFiniteValuesAreNotCounted() {
        QuantileSummary s = QuantileSummary.bucketed();
        s.addValues(new double[] {0, -0.0, 0, Double.NaN, Double.POSITIVE_INFINITY, 1e-300, 5}, 0, 7);
        double[] q = s.quantiles(new double[] {0.5, 1.0});
        assertEquals(0.0, q[0], 0.0);
        assertEquals(5.0, q[1], 5 * QuantileSummary.BUCKET_RELATIVE_ERROR);
    }

    @Test
    void exactCountsMergeAcrossDtypesIntoBucketsAndSurviveSerialization() throws Exception {
        QuantileSummary i8 = QuantileSummary.forType(DType.I8, true);
        byte[] raw = new byte[256];
        for (int i = 0; i < 256; i++) raw[i] = (byte) i;
        i8.addRaw(raw, 0, 256);
        assertTrue(i8.isExact());
        assertEquals(-128.0, i8.quantiles(new double[] {0})[0]);
        assertEquals(-1.0, i8.quantiles(new double[] {0.5})[0]); // 128th smallest of -128..127
        MomentAccumulator m = i8.moments();
        assertEquals(-0.5, m.mean(), 0.0);
        assertEquals((256.0 * 256 - 1) / 12, m.variancePopulation(), 1e-9);

        QuantileSummary bf = QuantileSummary.forType(DType.BF16, true);
        byte[] one = {(byte) 0x80, 0x3f}; // 1.0 in BF16
        bf.addRaw(one, 0, 1);
        QuantileSummary merged = i8.copy().merge(bf);
        assertFalse(merged.isExact());
        assertEquals(127.0, merged.quantiles(new double[] {1.0})[0], 127 * QuantileSummary.BUCKET_RELATIVE_ERROR);

        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ObjectOutputStream oo = new ObjectOutputStream(bo)) {
            oo.writeObject(i8);
        }
        QuantileSummary back;
        try (ObjectInputStream oi = new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray()))) {
            back = (QuantileSummary) oi.readObject();
        }
        double[] ps = {0.01, 0.5, 0.99};
        assertArrayEquals(i8.quantiles(ps), back.quantiles(ps), 0.0);
    }

    /**
     * The occupied-code ranges: parts holding only negative values, only positive ones, only zeros and nothing are
     * merged in every order, through serialisation and copies; every result's counts equal one summary of all the
     * values code for code, and its quantiles equal the sorted values' within the bucket error (exact for BF16 codes,
     * NaN codes counted but never reported).
     */
    @Test
    void partsInOneHalfOfTheCodesMergeSerialiseAndCopyToTheSummaryOfTheWhole() throws Exception {
        Random r = new Random(23);
        double[] neg = new double[5_000], pos = new double[7_000], zeros = new double[300];
        for (int i = 0; i < neg.length; i++) neg[i] = -Math.abs(r.nextGaussian()) * Math.exp(2 * r.nextGaussian());
        for (int i = 0; i < pos.length; i++) pos[i] = Math.abs(r.nextGaussian()) * 1e-3;
        double[][] parts = {neg, pos, zeros, {}};
        double[] all = new double[neg.length + pos.length + zeros.length];
        System.arraycopy(neg, 0, all, 0, neg.length);
        System.arraycopy(pos, 0, all, neg.length, pos.length);
        QuantileSummary whole = QuantileSummary.bucketed();
        whole.addValues(all, 0, all.length);
        double[] sorted = all.clone();
        Arrays.sort(sorted);
        double[] ps = {0, 0.001, 0.1, 0.4, 0.41, 0.5, 0.9, 0.999, 1};
        int[][] orders = {{0, 1, 2, 3}, {1, 0, 3, 2}, {3, 2, 1, 0}, {2, 3, 0, 1}};
        for (int[] order : orders) {
            QuantileSummary acc = QuantileSummary.bucketed();
            for (int k : order) {
                QuantileSummary part = QuantileSummary.bucketed();
                part.addFiniteValues(parts[k], 0, parts[k].length);
                part.compact();
                acc = roundTrip(acc).merge(roundTrip(part).copy());
            }
            assertArrayEquals(whole.countsView(), acc.countsView(), "order " + Arrays.toString(order));
            double[] q = acc.quantiles(ps);
            for (int i = 0; i < ps.length; i++) {
                double e = exact(sorted, ps[i]);
                assertEquals(e, q[i], QuantileSummary.BUCKET_RELATIVE_ERROR * Math.abs(e), "p=" + ps[i]);
            }
        }
        // exact BF16 codes with NaN and -Inf patterns counted: the quantiles are over the finite values only
        QuantileSummary bf = QuantileSummary.forType(DType.BF16, true);
        int[] codes = {0xffc0, 0xff80, 0xbf80, 0x3f80, 0x4000, 0x7fc0, 0x8000, 0x0000};
        byte[] raw = new byte[codes.length * 2];
        for (int i = 0; i < codes.length; i++) {
            raw[2 * i] = (byte) codes[i];
            raw[2 * i + 1] = (byte) (codes[i] >>> 8);
        }
        bf.addRaw(raw, 0, codes.length);
        QuantileSummary back = roundTrip(bf);
        assertArrayEquals(new double[] {-1, 0, 0, 2}, back.quantiles(new double[] {0, 0.4, 0.5, 1}), 0.0);
        assertFalse(back.isEmpty());
        assertTrue(QuantileSummary.bucketed().copy().isEmpty());
    }

    private static QuantileSummary roundTrip(QuantileSummary s) throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ObjectOutputStream oo = new ObjectOutputStream(bo)) {
            oo.writeObject(s);
        }
        try (ObjectInputStream oi = new ObjectInputStream(new ByteArrayInputStream(bo.toByteArray()))) {
            return (QuantileSummary) oi.readObject();
        }
    }
}
