package io.weightlab.common.optim;

import io.weightlab.common.stats.MomentAccumulator;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** SGD-SaI's g-SNR against its closed forms (docs/algorithms.md §7.3). */
class GradientSnrTest {
    static MomentAccumulator of(double... g) {
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(g, 0, g.length);
        return m;
    }

    @Test
    void closedForms() {
        // [1, -1, 1, -1]: ‖g‖ = 2, std (ddof 1) = √(4/3): G = √3 (to ε)
        assertEquals(Math.sqrt(3), GradientSnr.of(of(1, -1, 1, -1), 0), 1e-15, "G([1,-1,1,-1]) = √3");
        // zero-mean gradient: ‖g‖² = (n−1)σ², so G = √(n−1) exactly (ε = 0)
        double[] g = new double[10_000];
        Random r = new Random(3);
        for (int i = 0; i < g.length; i += 2) { g[i] = r.nextGaussian(); g[i + 1] = -g[i]; }
        assertEquals(Math.sqrt(g.length - 1), GradientSnr.of(of(g), 0), 1e-12 * 100, "zero mean: √(n−1)");
        // a constant gradient c: std 0, G = √n·|c|/ε
        assertEquals(Math.sqrt(5) * 0.5 / 1e-8, GradientSnr.of(of(0.5, 0.5, 0.5, 0.5, 0.5), 1e-8), 1e-6 * Math.sqrt(5) * 0.5 / 1e-8);
        // one element: std is 0 (numpy's NaN set to 0, as the reference code does)
        assertEquals(2.0 / 1e-8, GradientSnr.of(of(-2.0), 1e-8), 1e-3);
        // all zeros: no signal, G = 0
        assertEquals(0.0, GradientSnr.of(of(0, 0, 0), 1e-8));
    }

    @Test
    void scalesAreNormalisedByTheLargestRatio() {
        Map<String, MomentAccumulator> m = new LinkedHashMap<>();
        m.put("a", of(1, -1, 1, -1));
        m.put("b", of(1, 2, 3, 4, 5, 6));
        m.put("zero", of(0, 0));
        Map<String, Map<String, Object>> rows = GradientSnr.scales(m, 1e-8, true);
        double ga = (double) rows.get("a").get("gsnr"), gb = (double) rows.get("b").get("gsnr");
        double max = Math.max(ga, gb);
        assertEquals(ga / max, (double) rows.get("a").get("lr_scale"), 1e-15);
        assertEquals(gb / max, (double) rows.get("b").get("lr_scale"), 1e-15);
        assertEquals(1.0, Math.max((double) rows.get("a").get("lr_scale"), (double) rows.get("b").get("lr_scale")), 0.0, "the largest scale is exactly 1");
        assertEquals(0.0, (double) rows.get("zero").get("lr_scale"));
        assertEquals(ga, (double) GradientSnr.scales(m, 1e-8, false).get("a").get("lr_scale"), 0.0, "without normalisation the scale is G");
    }
}
