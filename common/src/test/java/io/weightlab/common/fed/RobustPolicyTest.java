package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The robust policy against numpy written from the rules {@link RobustPolicy} documents: reject a client whose update
 * norm exceeds median + z·1.4826·MAD (MAD floored at 1e-12·median; never with fewer than 3 clients), clip an update
 * to norm τ by the factor min(1, τ/‖Δ_k‖), τ the median norm or a number.
 */
class RobustPolicyTest {
    static final int N = 500, HONEST = 9;

    /** The single place that builds a policy from its options (the method contract may change how). */
    static RobustPolicy policy(Double rejectAbove, String clip) {
        return new RobustPolicy(rejectAbove, clip);
    }

    /** numpy's rules: outlier flags (1/0) for z, and clip factors for τ (NaN: the median). */
    static final String RULES = """
            def reject(norms, z):
                if len(norms) < 3:
                    return np.zeros(len(norms))
                med = np.median(norms)
                mad = 1.4826 * np.median(np.abs(norms - med))
                return norms > med + z * max(mad, 1e-12 * med)
            def clip(norms, tau):
                return np.minimum(1.0, (np.median(norms) if np.isnan(tau) else tau) / norms)
            """;

    static double[] flags(boolean[] b) {
        double[] f = new double[b.length];
        for (int i = 0; i < b.length; i++) f[i] = b[i] ? 1 : 0;
        return f;
    }

    @Test
    void aPlantedOutlierIsRejectedAndTheHonestClientsAreAveraged() {
        double[] reference = gaussian(N, 0, 0.05, 1);
        double[][] clients = new double[HONEST + 1][];
        double[] examples = new double[HONEST + 1];
        List<ClientSpec> specs = new ArrayList<>();
        for (int k = 0; k <= HONEST; k++) {
            double sd = k == 3 ? 0.2 : 0.01 * (1 + 0.05 * k); // client 3 sends an update 20x larger (the attacker)
            double[] u = gaussian(N, 0, sd, 10 + k);
            clients[k] = new double[N];
            for (int i = 0; i < N; i++) clients[k][i] = reference[i] + u[i];
            examples[k] = 100 + 10 * k;
            specs.add(new ClientSpec("c" + k, "u", 100 + 10 * k, null));
        }
        double[] norms = new double[clients.length];
        for (int k = 0; k < clients.length; k++) {
            double s = 0;
            for (int i = 0; i < N; i++) s += (clients[k][i] - reference[i]) * (clients[k][i] - reference[i]);
            norms[k] = Math.sqrt(s);
        }
        boolean[] rejected = policy(3.0, null).reject(norms);
        List<Integer> kept = new ArrayList<>();
        for (int k = 0; k < clients.length; k++) if (!rejected[k]) kept.add(k);
        assertEquals(List.of(0, 1, 2, 4, 5, 6, 7, 8, 9), kept, "only the planted outlier (client 3) is rejected at z = 3");

        double[][] survivors = new double[kept.size()][];
        List<ClientSpec> keptSpecs = new ArrayList<>();
        for (int i = 0; i < kept.size(); i++) {
            survivors[i] = clients[kept.get(i)];
            keptSpecs.add(specs.get(kept.get(i)));
        }
        double[] y = new double[N];
        new WeightedMean().combine(survivors, ClientWeights.of("examples", keptSpecs), N, y);

        Map<String, Object> in = new HashMap<>(Map.of("X", clients, "ref", reference, "n", examples));
        Map<String, double[]> ref = NumpyReference.run(in, RULES + """
                norms = np.linalg.norm(X - ref, axis=1)
                keep = ~reject(norms, 3.0)
                p = n[keep] / n[keep].sum()
                out("norms", norms); out("keep", keep); out("y", (p[:, None] * X[keep]).sum(axis=0))
                """);
        assertClose(ref.get("norms"), norms, 1e-14, 0, "update norms within 1e-14 relative: sums of 500 squares in another order");
        assertArrayEquals(ref.get("keep"), flags(negate(rejected)), 0.0, "numpy keeps the same clients");
        assertClose(ref.get("y"), y, 0, 8 * Math.ulp(0.25), "the honest FedAvg within 8 ulp of |x| ≤ 0.25: the same products, another order");
    }

    @Test
    void rejectionRuleMatchesNumpyOnOddEvenAndZeroMadNorms() {
        double[][] cases = {
                {1.0, 1.1, 0.9, 1.05, 5.0},           // odd K, one outlier
                {1.0, 1.1, 0.9, 1.05, 0.95, 1.6},     // even K: median and MAD are means of two middle values
                {2.0, 2.0, 2.0, 2.0, 2.0 + 1e-9},     // MAD = 0: the floor 1e-12·median decides
                {2.0, 2.0, 2.0},                      // all equal: nobody is above the median
                {1.0, 100.0},                         // fewer than 3: never rejects
        };
        Map<String, Object> in = new HashMap<>();
        for (int c = 0; c < cases.length; c++) in.put("n" + c, cases[c]);
        Map<String, double[]> ref = NumpyReference.run(in, RULES + """
                for c in range(%d):
                    for z in (1, 3):
                        out(f"n{c}_z{z}", reject(globals()[f"n{c}"], z))
                """.formatted(cases.length));
        for (int c = 0; c < cases.length; c++) {
            for (int z : new int[] {1, 3}) {
                double[] got = flags(policy((double) z, null).reject(cases[c]));
                assertArrayEquals(ref.get("n" + c + "_z" + z), got, 0.0, "z=" + z + ", norms " + Arrays.toString(cases[c]) + ": same decisions (exact)");
            }
        }
    }

    @Test
    void clipFactorsAreMinOfOneAndTauOverTheNorm() {
        double[] norms = {0.5, 1.0, 2.0, 4.0, 0.25, 8.0};
        Map<String, double[]> ref = NumpyReference.run(Map.of("norms", norms), RULES + """
                out("median", clip(norms, float("nan")))
                out("fixed", clip(norms, 0.75))
                """);
        assertArrayEquals(ref.get("median"), policy(null, "median").clipFactors(norms), 0.0,
                "τ = median (even K: (1+2)/2): min(1, τ/‖Δ‖), exact (one correctly rounded division each)");
        assertArrayEquals(ref.get("fixed"), policy(null, "0.75").clipFactors(norms), 0.0, "τ = 0.75: min(1, τ/‖Δ‖), exact");
    }

    @Test
    void offByDefaultAndBadClipValuesAreUsageErrors() {
        RobustPolicy none = policy(null, null);
        assertFalse(none.needsNorms(), "no rejection and no clipping need no update norms");
        assertNull(none.clipFactors(new double[] {1, 2, 3}), "no clipping: no factors");
        assertArrayEquals(new boolean[3], none.reject(new double[] {1, 2, 100}), "no rejection threshold: nobody is rejected");
        assertTrue(policy(2.0, null).needsNorms() && policy(null, "median").needsNorms(), "either rule needs the norms");
        for (String bad : new String[] {"mean", "0", "-1"}) {
            assertThrows(UsageException.class, () -> policy(null, bad).clipFactors(new double[] {1, 2}), "--clip " + bad);
        }
    }

    static boolean[] negate(boolean[] b) {
        boolean[] n = new boolean[b.length];
        for (int i = 0; i < b.length; i++) n[i] = !b[i];
        return n;
    }
}
