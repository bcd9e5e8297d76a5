package io.weightlab.common.lora;

import io.weightlab.common.linalg.LowRankSpectrum;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The merged weight read in slices equals W + s·B·A formed whole by {@link LowRankSpectrum#addProduct} (dgemm, the
 * spectrum job's dense with-base route) to 1e-14 relative (the same r-term sums, other order), for [out, in] and for
 * [in, out] storage, over slices that cut rows.
 */
class LoraDeltaTest {
    @Test
    void slicesOfTheMergedWeightEqualTheWholeSum() {
        int out = 7, r = 3, in = 5;
        double s = 1.75;
        SplittableRandom g = new SplittableRandom(5);
        double[] b = g.doubles((long) out * r).toArray(), a = g.doubles((long) r * in).toArray(), w = g.doubles((long) out * in).toArray();
        double[] whole = w.clone();
        LowRankSpectrum.addProduct(whole, b, out, r, a, in, s);
        for (boolean transposed : new boolean[] {false, true}) {
            double[] stored = transposed ? LowRankSpectrum.transpose(w, out, in) : w;
            double[] want = transposed ? LowRankSpectrum.transpose(whole, out, in) : whole;
            LoraDelta d = new LoraDelta(b, a, out, r, in, s, transposed);
            for (int[] cut : new int[][] {{0, 35}, {3, 11}, {11, 35}, {34, 35}}) {
                double[] y = java.util.Arrays.copyOfRange(stored, cut[0], cut[1]);
                d.addTo(y, cut[0], cut[1]);
                for (int e = cut[0]; e < cut[1]; e++) assertEquals(want[e], y[e - cut[0]], 1e-14 * Math.abs(want[e]) + 1e-15, "element " + e + ", transposed " + transposed);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new LoraDelta(b, a, out, r + 1, in, s, false));
    }
}
