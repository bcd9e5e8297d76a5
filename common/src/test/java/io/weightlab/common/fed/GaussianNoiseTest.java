package io.weightlab.common.fed;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DP noise streams: independent of how a tensor is sliced, new per round, and the ledger composes as the accountant. */
class GaussianNoiseTest {
    @Test
    void slicingDoesNotChangeTheNoiseAndRoundsDrawNewNoise() {
        int n = 200_000;
        GaussianNoise g = new GaussianNoise(0.3, 42, "r1@1", false);
        double[] whole = new double[n];
        g.addTo("layer.w", 0, n, whole);
        double[] pieces = new double[n];
        int[] cuts = {0, 1, 65_535, 65_537, 131_072, 150_001, n};
        for (int i = 0; i + 1 < cuts.length; i++) {
            double[] part = new double[cuts[i + 1] - cuts[i]];
            g.addTo("layer.w", cuts[i], part.length, part);
            System.arraycopy(part, 0, pieces, cuts[i], part.length);
        }
        assertArrayEquals(whole, pieces, 0.0, "element e always comes from block e / 65536 of (seed, round, tensor)");
        double[] other = new double[n];
        new GaussianNoise(0.3, 42, "r1@2", false).addTo("layer.w", 0, n, other);
        assertNotEquals(whole[0], other[0]);
        double s = 0, ss = 0;
        for (double x : whole) {
            s += x;
            ss += x * x;
        }
        double sd = Math.sqrt((ss - s * s / n) / (n - 1));
        assertEquals(0.3, sd, 0.3 * 5 / Math.sqrt(2.0 * n), "sample std within 5 of its standard errors");
        double[] secure = new double[1000];
        new GaussianNoise(0.3, 42, "r1@1", true).addTo("layer.w", 0, 1000, secure);
        assertNotEquals(whole[0], secure[0], "SecureRandom ignores the seed");
    }

    @Test
    void ledgerMergesSegmentsAndRoundTripsThroughJson() {
        PrivacyLedger l = PrivacyLedger.empty().plusStep(0.1, 1.2).plusStep(0.1, 1.2).plusStep(0.2, 1.2);
        assertEquals(List.of(new RdpAccountant.Segment(0.1, 1.2, 2), new RdpAccountant.Segment(0.2, 1.2, 1)), l.segments());
        PrivacyLedger back = PrivacyLedger.parse("test", l.json(1e-6));
        assertEquals(l.segments(), back.segments());
        double want = RdpAccountant.epsilon(List.of(new RdpAccountant.Segment(0.1, 1.2, 2), new RdpAccountant.Segment(0.2, 1.2, 1)), 1e-6).epsilon();
        assertEquals(want, back.epsilon(1e-6).epsilon(), 0.0);
        assertTrue(want > 0);
    }
}
