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
}
