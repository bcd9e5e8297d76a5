package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Andrew et al.'s adaptive clipping rule from the paper's formulas (closed forms), Flower's defaults and names. */
class AdaptiveClipTest {
    @Test
    void ruleAndDefaults() {
        AdaptiveClip a = AdaptiveClip.parse("adaptive");
        assertEquals(new AdaptiveClip(0.1, 0.5, 0.2, null), a);
        assertEquals(10 / 20.0, a.countStddev(10, 1.0), 0.0, "Flower's default σ_b = m/20");
        assertEquals(0.0, a.countStddev(10, 0.0), 0.0);
        // 3 of 4 norms ≤ C: (Σ(b − ½) + σ_b·g)/K + ½ = (1 + 2·0.5)/4 + 0.5 = 1.0, clamped at 1
        assertEquals(1.0, AdaptiveClip.noisedFraction(1.0, new double[] {0.5, 0.9, 1.0, 2.0}, 2, 0.5), 0.0);
        assertEquals(0.75, AdaptiveClip.noisedFraction(1.0, new double[] {0.5, 0.9, 1.0, 2.0}, 0, 0.5), 0.0);
        assertEquals(0.2 * Math.exp(-0.2 * (0.75 - 0.5)), a.next(0.2, 0.75), 1e-17);
        // z_Δ: (z⁻² − (2σ_b)⁻²)^−½, e.g. z = 1, σ_b = 1 → √(4/3)
        assertEquals(Math.sqrt(4.0 / 3), AdaptiveClip.effectiveMultiplier(1, 1), 1e-15);
        assertEquals(0.0, AdaptiveClip.effectiveMultiplier(0, 0), 0.0);
        assertThrows(UsageException.class, () -> AdaptiveClip.effectiveMultiplier(1, 0.5), "z = 2σ_b");
        assertEquals(new AdaptiveClip(0.3, 0.9, 0.1, 2.0), AdaptiveClip.parse("adaptive:initial=0.3,quantile=0.9,lr=0.1,count_stddev=2"));
        assertThrows(UsageException.class, () -> AdaptiveClip.parse("adaptive:quantil=0.9"));
    }
}
