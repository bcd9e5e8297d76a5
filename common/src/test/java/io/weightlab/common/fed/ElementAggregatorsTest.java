package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.method.MethodParams;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.weightlab.common.fed.NumpyReference.assertClose;
import static io.weightlab.common.fed.NumpyReference.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The element aggregators of a full-checkpoint round and the client weights, against numpy/scipy written from the
 * published rules: FedAvg's Σ p_k x_k with p_k = n_k/Σn (McMahan et al.), the coordinate-wise median (numpy's: mean
 * of the two middle values for even K) and the β-trimmed mean (scipy.stats.trim_mean: drop floor(β·K) per side).
 */
class ElementAggregatorsTest {
    static final int N = 64;

    /** The single place that builds a method by name with parameters (the method contract may change how). */
    static ElementAggregator aggregator(String name, Map<String, String> params) {
        return AggregatorRegistry.create(name, new MethodParams(name, params, f -> null));
    }

    static double[][] clients(int k, long seed) {
        double[][] x = new double[k][];
        for (int c = 0; c < k; c++) x[c] = gaussian(N, 0.1 * c, 1.0, seed + c);
        return x;
    }

    static double[] combine(ElementAggregator a, double[][] x, double[] p) {
        double[] out = new double[N];
        a.combine(x, p, N, out);
        return out;
    }

    static double[] uniform(int k) {
        double[] p = new double[k];
        Arrays.fill(p, 1.0 / k);
        return p;
    }

    @Test
    void weightedMeanIsFedAvgWithExampleWeights() {
        List<ClientSpec> specs = List.of(new ClientSpec("a", "u", 120, null), new ClientSpec("b", "u", 30, null),
                new ClientSpec("c", "u", 450, null), new ClientSpec("d", "u", 7, null));
        double[] p = ClientWeights.of("examples", specs);
        double[][] x = clients(4, 11);
        double[] got = combine(aggregator("fedavg", Map.of()), x, p);
        Map<String, double[]> ref = NumpyReference.run(Map.of("X", x, "n", new double[] {120, 30, 450, 7}), """
                p = n / n.sum()
                out("p", p)
                out("y", (p[:, None] * X).sum(axis=0))
                """);
        assertArrayEquals(ref.get("p"), p, 0.0, "p_k = n_k/Σn exactly: integer sums are exact, then one correctly rounded division each");
        assertClose(ref.get("y"), got, 0, 4 * Math.ulp(4.0), "Σ p_k x_k within 4 ulp of |x|~4: the same products, numpy may add the 4 terms in another order");
    }

    @Test
    void clientWeightsUniformGivenAndRejected() {
        List<ClientSpec> specs = List.of(new ClientSpec("a", "u", 1, 0.3), new ClientSpec("b", "u", 2, 1.1), new ClientSpec("c", "u", 3, 0.05));
        Map<String, double[]> ref = NumpyReference.run(Map.of("w", new double[] {0.3, 1.1, 0.05}), """
                out("given", w / w.sum())
                out("uniform", np.full(3, 1 / 3))
                """);
        assertClose(ref.get("given"), ClientWeights.of("given", specs), 2 * Math.ulp(1.0), 0, "given weights normalised, 2 ulp: the sum of three may round differently");
        assertArrayEquals(ref.get("uniform"), ClientWeights.of("uniform", specs), 0.0, "uniform = 1/K exactly");
        assertThrows(UsageException.class, () -> ClientWeights.of("examples", List.of(new ClientSpec("z", "u", 0, null))), "zero examples (rule PositiveExamples)");
        assertThrows(UsageException.class, () -> ClientWeights.of("given", List.of(new ClientSpec("z", "u", 5, 0.0))), "zero given weight (rule PositiveWeight)");
    }

    @Test
    void aZeroWeightClientContributesNothing() {
        double[][] x = clients(3, 21);
        x[0] = gaussian(N, 1e6, 1e6, 99); // a client far away that must not move the result
        double[] p = {0.0, 0.25, 0.75};
        double[] got = combine(aggregator("fedavg", Map.of()), x, p);
        Map<String, double[]> ref = NumpyReference.run(Map.of("X", x, "p", p), """
                out("y", (p[:, None] * X).sum(axis=0))
                out("without", 0.25 * X[1] + 0.75 * X[2])
                """);
        assertClose(ref.get("y"), got, 0, 4 * Math.ulp(4.0), "Σ p_k x_k within 4 ulp of |x|~4: same products and order");
        assertClose(ref.get("without"), got, 0, 4 * Math.ulp(4.0), "p_0 = 0 leaves exactly the other clients' weighted sum (0·x is +0)");
    }

    @Test
    void oneClientIsReturnedBitForBitByEveryAggregator() {
        double[] x = gaussian(N, 0, 1, 31);
        x[3] = -0.0; // a stored negative zero must survive (WeightedMean starts from the first term for this)
        for (String name : AggregatorRegistry.names()) {
            double[] got = combine(aggregator(name, Map.of()), new double[][] {x}, new double[] {1.0});
            for (int i = 0; i < N; i++) {
                assertEquals(Double.doubleToRawLongBits(x[i]), Double.doubleToRawLongBits(got[i]), name + ", element " + i + ": one client is its own aggregate (bit-exact, −0.0 kept)");
            }
        }
    }

    @Test
    void medianIsNumpysForOddAndEvenKAndIgnoresWeights() {
        ElementAggregator median = aggregator("median", Map.of());
        assertFalse(median.weighted(), "the median counts clients equally");
        for (int k : new int[] {5, 6, 2}) {
            double[][] x = clients(k, 40 + k);
            for (int c = 0; c < k; c += 2) x[c][7] = 0.5; // ties at one position
            double[] p = new double[k];
            for (int c = 0; c < k; c++) p[c] = (c + 1.0) / (k * (k + 1) / 2.0); // skewed weights that must not matter
            double[] got = combine(median, x, p);
            Map<String, double[]> ref = NumpyReference.run(Map.of("X", x), "out('y', np.median(X, axis=0))\n");
            assertArrayEquals(ref.get("y"), got, 0.0, "K=" + k + ": np.median exactly (same sort; even K: (a+b)/2 equals numpy's mean of two)");
        }
    }

    @Test
    void trimmedMeanFollowsScipyTrimMeanIncludingTheRoundingOfTheTrimCount() {
        // (K, beta): no trim (floor 0.8), exact integers, floor of 2.1, only the median left, products just off an integer
        double[][] cases = {{4, 0.2}, {5, 0.2}, {7, 0.3}, {3, 0.34}, {10, 0.0}, {30, 0.1}, {20, 0.35}, {10, 0.49}, {100, 0.29}};
        Map<String, Object> in = new HashMap<>();
        double[][] got = new double[cases.length][];
        for (int c = 0; c < cases.length; c++) {
            int k = (int) cases[c][0];
            double[][] x = clients(k, 60 + k);
            x[0][1] = 1e3; // an outlier the trim must remove whenever floor(beta*K) >= 1
            in.put("X" + c, x);
            in.put("beta" + c, cases[c][1]);
            got[c] = combine(aggregator("trimmed-mean", Map.of("beta", Double.toString(cases[c][1]))), x, uniform(k));
        }
        Map<String, double[]> ref = NumpyReference.run(in, """
                for c in range(%d):
                    X, beta = globals()[f"X{c}"], globals()[f"beta{c}"]
                    K = X.shape[0]
                    cut = int(np.floor(beta * K))
                    out(f"formula{c}", np.sort(X, axis=0)[cut:K - cut].mean(axis=0))
                    out(f"scipy{c}", scipy.stats.trim_mean(X, beta, axis=0))
                """.formatted(cases.length));
        for (int c = 0; c < cases.length; c++) {
            String why = "K=" + (int) cases[c][0] + ", beta=" + cases[c][1] + ": within 8 ulp of the largest |x| (1e3): the same sorted values, summed in another order";
            assertClose(ref.get("formula" + c), got[c], 0, 8 * Math.ulp(1e3), why + " (numpy from the rule)");
            assertClose(ref.get("scipy" + c), got[c], 0, 8 * Math.ulp(1e3), why + " (scipy.stats.trim_mean)");
        }
    }

    @Test
    void trimmedMeanDefaultIsFlowersBetaAndItsRangeIsChecked() {
        double[][] x = clients(10, 80);
        double[] got = combine(aggregator("trimmed-mean", Map.of()), x, uniform(10));
        Map<String, double[]> ref = NumpyReference.run(Map.of("X", x), "out('y', scipy.stats.trim_mean(X, 0.2, axis=0))\n");
        assertClose(ref.get("y"), got, 0, 8 * Math.ulp(4.0), "default beta 0.2 (Flower's FedTrimmedAvg), 8 ulp: same values, another summation order");
        assertFalse(aggregator("trimmed-mean", Map.of()).weighted(), "the trimmed mean counts clients equally");
        for (String bad : new String[] {"0.5", "-0.1"}) {
            assertThrows(UsageException.class, () -> aggregator("trimmed-mean", Map.of("beta", bad)), "beta " + bad + " is outside [0, 0.5)");
        }
    }

    @Test
    void everyRegisteredAggregatorIsCovered() {
        List<String> names = new ArrayList<>(AggregatorRegistry.names());
        assertTrue(names.containsAll(List.of("fedavg", "median", "trimmed-mean")), "registered: " + names);
        names.removeAll(List.of("krum", "multi-krum", "bulyan", "rfa")); // client selectors: numpy references in RobustSelectorsTest
        assertEquals(3, names.size(), "a new element aggregator needs its numpy reference here: " + names);
    }
}
