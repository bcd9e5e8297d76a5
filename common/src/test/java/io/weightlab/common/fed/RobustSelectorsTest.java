package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Krum, Multi-Krum, Bulyan and the geometric median against Flower's test values ({@code krum_test.py},
 * {@code multikrum_test.py}, {@code bulyan_test.py}), planted-attacker oracles, and a numpy port of Flower's
 * {@code aggregate_krum} / {@code aggregate_bulyan} and RFA's {@code geometric_median_update} on the same clients.
 */
class RobustSelectorsTest {
    /** Selection from the pairwise distances, then the combine of the chosen rows: what the job does slice by slice. */
    static double[] aggregate(ClientSelector s, double[][] xs, double[] weights) {
        double[][] d = new double[xs.length][xs.length];
        PairwiseDistances.add(xs, xs[0].length, d);
        ClientSelector.Selection sel = s.select(d, weights);
        double[][] chosen = new double[sel.clients().length][];
        for (int i = 0; i < chosen.length; i++) chosen[i] = xs[sel.clients()[i]];
        double[] out = new double[xs[0].length];
        s.combine(chosen, sel.weights(), out.length, out);
        return out;
    }

    static double[] fill(int n, double v) {
        double[] x = new double[n];
        java.util.Arrays.fill(x, v);
        return x;
    }

    static double[] uniform(int k) { return fill(k, 1.0 / k); }

    @Test
    void flowerTestValues() {
        double[][] three = {fill(4, 0.2), fill(4, 0.7), fill(4, 1.0)};
        double[][] d = new double[3][3];
        PairwiseDistances.add(three, 4, d);
        assertArrayEquals(new double[] {1.0, 0.36, 0.36}, Krum.scores(d, 1), 1e-12, "krum_test.py scores");
        assertArrayEquals(fill(4, 0.7), aggregate(new Krum(1, 0), three, uniform(3)), 0.0, "krum_test.py: 0.7, the first of the tied");
        double[][] mk = {fill(4, 0.2), fill(4, 0.5), fill(4, 1.0)};
        assertArrayEquals(fill(4, 0.35), aggregate(new Krum(0, 2), mk, uniform(3)), 1e-15, "multikrum_test.py: keep 2 → 0.35");
        double[] vals = {0.2, 0.5, 0.7, 12, 0.1, 0.1};
        double[][] six = new double[6][];
        double mean = 0;
        for (int i = 0; i < 6; i++) {
            six[i] = fill(4, vals[i]);
            mean += vals[i] / 6;
        }
        assertArrayEquals(fill(4, mean), aggregate(new Bulyan(0), six, uniform(6)), 1e-14, "bulyan_test.py: f = 0 is the plain mean");
        assertThrows(UsageException.class, () -> aggregate(new Bulyan(1), six, uniform(6)), "K = 6 < 4f + 3 = 7");
    }

    @Test
    void plantedAttackersAndWeiszfeldOracles() {
        double[][] pts = {{1, 1}, {1.1, 0.9}, {0.9, 1.1}, {1.05, 1}, {0.95, 0.95}, {50, -50}, {60, -40}};
        assertArrayEquals(new double[] {1, 1}, aggregate(new Krum(2, 0), pts, uniform(7)), 0.0, "Krum f = 2 picks the planted honest centre");
        double[][] sq = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {100, 100}};
        double[] many = aggregate(new GeometricMedian(1e-6, 1e-20, 100), sq, uniform(5));
        // on the diagonal the unit vectors balance when (2t − 1)/√((1−t)² + t²) = 1/√2: t = 1/2 + 1/(2√3) (Weiszfeld
        // reaches it to 1e-9 within 100 steps; numpy's iteration gives 0.78867513 too)
        double t = 0.5 + 1 / (2 * Math.sqrt(3));
        assertArrayEquals(new double[] {t, t}, many, 1e-7, "Weiszfeld, 100 steps: the exact geometric median");
        double[] rfa = aggregate(new GeometricMedian(1e-5, 1e-6, 4), sq, uniform(5));
        assertArrayEquals(new double[] {0.955, 0.955}, rfa, 5e-4, "RFA defaults (3 decimals)");
    }

    @Test
    void matchFlowerAndRfaPortedToNumpyAndResistOutliersWhereTheMeanDoesNot() {
        int k = 15, n = 40, f = 3; // f < K/4, K = 4f + 3 for Bulyan
        double[][] xs = new double[k][];
        for (int i = 0; i < k; i++) xs[i] = NumpyReference.gaussian(n, 0.5, 0.1, 10 + i);
        for (int i = 0; i < f; i++) xs[i] = NumpyReference.gaussian(n, 30 * (i + 1), 5, 50 + i); // far attackers, the lightest clients
        double[] w = new double[k];
        double tot = 0;
        for (int i = 0; i < k; i++) tot += w[i] = 100 * (i + 1);
        for (int i = 0; i < k; i++) w[i] /= tot;
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("xs", xs);
        in.put("w", w);
        in.put("f", (double) f);
        Map<String, double[]> ref = NumpyReference.run(in, """
                f = int(f)
                def krum(X, W, f, keep):
                    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
                    k = max(1, len(X) - f - 2)
                    s = np.array([np.sort(D[i])[1:k + 1].sum() for i in range(len(X))])
                    if keep > 0:
                        idx = np.argsort(s, kind="stable")[:keep]
                        return (X[idx] * W[idx, None]).sum(0) / W[idx].sum()
                    return X[np.argmin(s)]
                def bulyan(X, f):
                    rem = list(range(len(X))); sel = []
                    for _ in range(len(X) - 2 * f):
                        b = krum(X[rem], None, f, 0)
                        i = next(j for j in rem if np.array_equal(X[j], b))
                        sel.append(i); rem.remove(i)
                    S = X[sel]; beta = len(S) - 2 * f
                    med = np.median(S, axis=0)
                    idx = np.argsort(np.abs(S - med), axis=0, kind="stable")[:beta]
                    return np.take_along_axis(S, idx, axis=0).mean(0)
                def rfa(X, a, nu=1e-5, ftol=1e-6, maxiter=4):
                    a = a / a.sum()
                    z = (X * a[:, None]).sum(0)
                    obj = (a * np.linalg.norm(X - z, axis=1)).sum()
                    for _ in range(maxiter):
                        prev = obj
                        b = a / np.maximum(nu, np.linalg.norm(X - z, axis=1)); b /= b.sum()
                        z = (X * b[:, None]).sum(0)
                        obj = (a * np.linalg.norm(X - z, axis=1)).sum()
                        if abs(prev - obj) < ftol * obj: break
                    return z
                out("krum", krum(xs, w, f, 0))
                out("multikrum", krum(xs, w, f, 5))
                out("bulyan", bulyan(xs, f))
                out("rfa", rfa(xs, w))
                out("mean", (xs * w[:, None]).sum(0))
                """);
        double[] krum = aggregate(new Krum(f, 0), xs, w), multi = aggregate(new Krum(f, 5), xs, w);
        double[] bulyan = aggregate(new Bulyan(f), xs, w), rfa = aggregate(new GeometricMedian(1e-5, 1e-6, 4), xs, w);
        NumpyReference.assertClose(ref.get("krum"), krum, 0, 0, "Krum returns one client's vector exactly");
        NumpyReference.assertClose(ref.get("multikrum"), multi, 1e-13, 1e-15, "weighted mean of 5, summation order");
        NumpyReference.assertClose(ref.get("bulyan"), bulyan, 1e-13, 1e-15, "mean of the β closest to the median");
        NumpyReference.assertClose(ref.get("rfa"), rfa, 1e-9, 1e-12, "Weiszfeld weights from distances via the pairwise matrix");
        double honestMean = 0.5;
        String[] names = {"krum", "multi-krum", "bulyan", "rfa"};
        double[][] results = {krum, multi, bulyan, rfa};
        for (int m = 0; m < names.length; m++) {
            for (double v : results[m]) assertTrue(Math.abs(v - honestMean) < 0.4, names[m] + ": near the honest clients (N(0.5, 0.1²)): " + v);
        }
        for (double v : ref.get("mean")) assertTrue(Math.abs(v - honestMean) > 2, "the weighted mean is dragged away: " + v); // attackers at 30, 60, 90 with 6/120 of the weight: ≈ +3.5
    }
}
