package io.weightlab.common.lora;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.Lapack;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Closed-form oracles of docs/algorithms.md §3.5–3.7 on planted inputs. */
class DataDrivenInitializersTest {
    static final int N = 40;

    static double[] orthogonal(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] g = new double[n * n];
        for (int i = 0; i < g.length; i++) g[i] = rng.nextGaussian();
        return Lapack.orthonormalize(g, n, n);
    }

    @Test
    void evaFindsAPlantedCovarianceAndItsExplainedVariance() {
        double[] q = orthogonal(N, 3); // columns are the planted directions
        double[] lambda = new double[N];
        double total = 0;
        for (int i = 0; i < N; i++) total += lambda[i] = i < 3 ? 10.0 / (i + 1) : 0.1 * Math.pow(0.9, i);
        long count = 1001;
        double[] m2 = new double[N * N];
        for (int i = 0; i < N; i++) for (int j = 0; j < N; j++) {
            double c = 0;
            for (int t = 0; t < N; t++) c += q[i * N + t] * lambda[t] * q[j * N + t];
            m2[i * N + j] = c * (count - 1);
        }
        EvaInitializer.Decomposition d = EvaInitializer.decompose(new ActivationStats("m", count, new double[N], m2, N), 3);
        for (int t = 0; t < 3; t++) {
            assertEquals(lambda[t] / total, d.ratios()[t], 1e-12, "explained-variance ratio = λ_t / trace(C)");
            double dot = 0;
            int big = 0;
            for (int i = 0; i < N; i++) {
                dot += d.components()[t * N + i] * q[i * N + t];
                if (Math.abs(d.components()[t * N + i]) > Math.abs(d.components()[t * N + big])) big = i;
            }
            assertEquals(1.0, Math.abs(dot), 1e-10, "component " + t + " is the planted direction");
            assertTrue(d.components()[t * N + big] > 0, "svd_flip: the largest-|.| entry of each component is positive");
        }
    }

    @Test
    void evaRedistributionGivesTheBudgetToTheLargestRatios() {
        Map<String, double[]> ratios = new LinkedHashMap<>();
        ratios.put("a", new double[] {0.5, 0.3, 0.1, 0.05});
        ratios.put("b", new double[] {0.4, 0.02, 0.01, 0.0});
        ratios.put("c", new double[] {0.01, 0.005, 0.001, 0.0});
        Map<String, Integer> ranks = Map.of("a", 2, "b", 2, "c", 2);
        Map<String, Integer> out = EvaInitializer.redistribute(ratios, ranks);
        // budget 6 of {.5a .4b .3a .1a .05a .02b | .01b .01c ...}: the 6th is the tie .01 between b and c -> earlier module b
        assertEquals(Map.of("a", 4, "b", 2, "c", 0), out);
        assertEquals(6, out.values().stream().mapToInt(Integer::intValue).sum());
    }

    @Test
    void loraSbIsTheOptimalTruncationOfTheSignStep() {
        int m = 30, n = 20, r = 4;
        SplittableRandom rng = new SplittableRandom(9);
        double[] g = new double[m * n];
        for (int i = 0; i < g.length; i++) g[i] = i % 7 == 0 ? 0 : rng.nextGaussian(); // sign(0) = 0 must survive
        double eta = 1e-3, s = 0.5;
        LoraFactors f = LoraRegistry.create("lora_sb", Map.of("eta", String.valueOf(eta))).init(new ModuleData(m, n, null, g), r, s, 0);
        double[] step = new double[g.length];
        for (int i = 0; i < g.length; i++) step[i] = -eta * Math.signum(g[i]);
        Lapack.Factors sv = Lapack.svd(step, m, n);
        double worst = 0;
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            double best = 0, ours = 0;
            for (int t = 0; t < r; t++) {
                best += sv.u()[i * sv.k() + t] * sv.s()[t] * sv.vt()[t * n + j];
                ours += s * f.b()[i * r + t] * f.a()[t * n + j];
            }
            worst = Math.max(worst, Math.abs(best - ours));
        }
        assertTrue(worst < 1e-6 * sv.s()[0], "s·B'·A' == rank-r truncation of −η·sign(G): " + worst);
        assertThrows(UsageException.class, () -> LoraRegistry.create("lora_sb"), "η must be given");
    }

    @Test
    void loraGaOriginalStableScaleAndRankLimit() {
        int m = 32, n = 24, r = 5;
        SplittableRandom rng = new SplittableRandom(2);
        double[] g = new double[m * n], w = new double[m * n];
        for (int i = 0; i < g.length; i++) { g[i] = rng.nextGaussian(); w[i] = rng.nextGaussian(); }
        LoraFactors f = LoraRegistry.create("lora_ga", Map.of("variant", "original")).init(new ModuleData(m, n, w, g), r, 2.0, 0);
        double na = 0, nb = 0;
        for (float x : f.a()) na += x * x;
        for (float x : f.b()) nb += x * x;
        double expect = Math.sqrt(r) * Math.pow(m, 0.25) / 4; // γ = 16
        assertEquals(expect, Math.sqrt(na), 1e-5 * expect);
        assertEquals(expect, Math.sqrt(nb), 1e-5 * expect);
        assertThrows(UsageException.class, () -> LoraRegistry.create("lora_ga").init(new ModuleData(m, n, w, g), 13, 1, 0), "2r > min(m, n)");
        assertThrows(UsageException.class, () -> LoraRegistry.create("lora_ga", Map.of("variant", "original", "scale", "weight_svd")),
                "weight_svd is PEFT's scale, not the original's");
    }
}
