package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.stats.MomentAccumulator;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static io.weightlab.common.fed.NumpyReference.assertCloseNormwise;
import static io.weightlab.common.fed.NumpyReference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Variance-corrected averaging (docs/algorithms.md §5.2; "Vanishing Variance Problem in Fully Decentralized
 * Neural-Network Systems", arXiv 2404.04616) against numpy written from the paper: w' = (w̄ − mean w̄)·√((v + ε)/
 * (Var w̄ + ε)) + mean w̄, Var with ddof = 1, v the clients' mean variance (follow-others) or c·Var(w_self) +
 * (1−c)·v with the output c·w_self + (1−c)·w̄ (conservative). Our side runs the pieces as the fedavg job chains them:
 * the uniform mean, the conservative mix, per-client moments, {@link VarianceCorrection#target}, {@link
 * VarianceCorrection#scale} and the affine map of the written slices.
 */
class VarianceCorrectionTest {
    static final int N = 300;

    /** The single place that builds a correction from its options (the method contract may change how). */
    static VarianceCorrection correction(String mode, double c, Double eps, Double relativeEps) {
        return VarianceCorrection.parse(mode, c, eps, relativeEps);
    }

    static double sampleVariance(double[] x) {
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(x, 0, x.length);
        return m.varianceSample();
    }

    /** Our chain, as fedavg runs it for one tensor; {@code reference} only for the conservative mode. */
    static double[] corrected(VarianceCorrection vc, double[][] clients, double[] reference) {
        int k = clients.length;
        double[] p = new double[k];
        Arrays.fill(p, 1.0 / k);
        double[] y = new double[N];
        new WeightedMean().combine(clients, p, N, y);
        double c = vc.selfWeight();
        if (c > 0) for (int i = 0; i < N; i++) y[i] = c * reference[i] + (1 - c) * y[i]; // TensorAggregation's mix
        double[] vars = new double[k];
        for (int j = 0; j < k; j++) vars[j] = sampleVariance(clients[j]);
        double target = vc.target(vars, reference == null ? 0 : sampleVariance(reference));
        MomentAccumulator out = new MomentAccumulator();
        out.addBlock(y, 0, N);
        double scale = vc.scale(target, out.varianceSample()), center = out.mean();
        if (scale != 1.0) for (int i = 0; i < N; i++) y[i] = (y[i] - center) * scale + center; // StagedSliceAction's map
        return y;
    }

    /** The paper's formula in numpy; eps_abs / eps_rel: one of them is None. Prints w, its mean and ddof=1 variance, and v. */
    static Map<String, double[]> paper(double[][] clients, double[] reference, double c, Double epsAbs, Double epsRel) {
        Map<String, Object> in = new HashMap<>(Map.of("X", clients, "c", c));
        in.put("ref", reference == null ? new double[N] : reference);
        in.put("eps_abs", epsAbs == null ? Double.NaN : epsAbs);
        in.put("eps_rel", epsRel == null ? Double.NaN : epsRel);
        return NumpyReference.run(in, """
                wbar = X.mean(axis=0)
                v = np.var(X, axis=1, ddof=1).mean()
                if c > 0:
                    wbar = c * ref + (1 - c) * wbar
                    v = c * np.var(ref, ddof=1) + (1 - c) * v
                eps = eps_rel * v if np.isnan(eps_abs) else eps_abs
                with np.errstate(invalid="ignore", divide="ignore"):
                    w = (wbar - wbar.mean()) * np.sqrt((v + eps) / (np.var(wbar, ddof=1) + eps)) + wbar.mean()
                out("w", w); out("wbar", wbar); out("mean", w.mean()); out("var", np.var(w, ddof=1)); out("v", v)
                """);
    }

    static double[][] independentClients(int k, double sd, long seed) {
        double[][] x = new double[k][];
        for (int j = 0; j < k; j++) x[j] = gaussian(N, 0.01, sd, seed + j);
        return x;
    }

    // Variances from Welford-style moments vs numpy's two-pass, a mean of K products vs numpy's sum/K: each a few ulp,
    // amplified at most by the scale (≤ √K here) in the affine map.
    static final String TOL = "1e-13 of the largest |w'|: our merged moments vs numpy's two-pass variance differ by a few ulp";

    @Test
    void followOthersWithThePapersEpsilon() {
        double[][] x = independentClients(4, 0.1, 100); // σ² = 0.01 ≫ ε = 1e-4, so the correction is visible
        double[] got = corrected(correction("follow-others", 0, null, null), x, null);
        Map<String, double[]> ref = paper(x, null, 0, 1e-4, null);
        assertCloseNormwise(ref.get("w"), got, 1e-13, "follow-others, ε = 1e-4: " + TOL);
        double varAvg = sampleVariance(ref.get("wbar")), v = ref.get("v")[0];
        assertTrue(varAvg < 0.5 * v, "averaging 4 independent models shrinks the variance (" + varAvg + " vs " + v + ")");
        double want = varAvg * (v + 1e-4) / (varAvg + 1e-4);
        assertEquals(want, sampleVariance(got), 1e-12 * want, "Var(w') = Var(w̄)·(v+ε)/(Var(w̄)+ε), the paper's oracle (1e-12 relative: variances and a square root rounded)");
    }

    @Test
    void withoutEpsilonTheVarianceBecomesTheClientsMeanVarianceAndTheMeanStays() {
        double[][] x = independentClients(5, 0.02, 200);
        double[] got = corrected(correction("follow-others", 0, 0.0, null), x, null);
        Map<String, double[]> ref = paper(x, null, 0, 0.0, null);
        assertCloseNormwise(ref.get("w"), got, 1e-13, "follow-others, ε = 0: " + TOL);
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(got, 0, N);
        assertEquals(ref.get("v")[0], m.varianceSample(), 1e-12 * ref.get("v")[0], "Var(w') = v exactly in exact arithmetic (1e-12 relative: rounding of two variances and a square root)");
        assertEquals(ref.get("mean")[0], m.mean(), 1e-15, "mean(w') = mean(w̄) (1e-15 absolute: means ~0.01, a few ulp)");
    }

    @Test
    void relativeEpsilonScalesWithTheTarget() {
        double[][] x = independentClients(3, 0.02, 300); // LLM-like variance 4e-4, where the paper's absolute ε would damp
        double[] got = corrected(correction("follow-others", 0, null, 0.01), x, null);
        assertCloseNormwise(paper(x, null, 0, null, 0.01).get("w"), got, 1e-13, "relative ε = 0.01·v: " + TOL);
    }

    @Test
    void conservativeMixesTheServersModelIntoOutputAndTarget() {
        double[][] x = independentClients(4, 0.05, 400);
        double[] self = gaussian(N, -0.02, 0.08, 499);
        double[] got = corrected(correction("conservative", 0.3, null, null), x, self);
        assertCloseNormwise(paper(x, self, 0.3, 1e-4, null).get("w"), got, 1e-13, "conservative c = 0.3, ε = 1e-4: " + TOL);
    }

    @Test
    void identicalClientsAreLeftExactlyAsTheyAre() {
        double[] one = gaussian(N, 0, 0.05, 500);
        double[][] x = {one, one.clone(), one.clone()};
        double[] got = corrected(correction("follow-others", 0, 0.0, null), x, null);
        double[] avg = new double[N];
        new WeightedMean().combine(x, new double[] {1.0 / 3, 1.0 / 3, 1.0 / 3}, N, avg);
        for (int i = 0; i < N; i++) assertEquals(avg[i], got[i], 0.0, "element " + i + ": Var(w̄) = v, the factor is 1 and nothing is rewritten (exact)");
    }

    @Test
    void clientsWithZeroVarianceKeepTheirConstant() {
        // Every client tensor is constant (its own constant): v = 0 and Var(w̄) = 0.
        double[][] x = new double[3][N];
        for (int j = 0; j < 3; j++) Arrays.fill(x[j], 0.1 * (j + 1));
        Map<String, double[]> withEps = paper(x, null, 0, 1e-4, null);
        assertCloseNormwise(withEps.get("w"), corrected(correction("follow-others", 0, null, null), x, null), 1e-15,
                "ε = 1e-4: √(ε/ε) = 1, w' = w̄ = 0.2 (1e-15: the mean of three constants, summed in two orders)");
        // ε = 0 (absolute or relative to v = 0): in exact arithmetic the formula is 0·√(0/0); ours takes the factor as 1
        // and keeps the constant, which is what numpy's rounded w̄ − mean(w̄) ≈ 0 gives too.
        Map<String, double[]> noEps = paper(x, null, 0, 0.0, null);
        for (VarianceCorrection vc : new VarianceCorrection[] {correction("follow-others", 0, 0.0, null), correction("follow-others", 0, null, 1e-4)}) {
            double[] got = corrected(vc, x, null);
            assertCloseNormwise(noEps.get("w"), got, 1e-15, vc + ": the constant stays (1e-15 as above)");
            for (int i = 1; i < N; i++) assertEquals(got[0], got[i], 0.0, vc + ": still one constant, no 0/0 noise (exact)");
        }
        // Conservative: constant clients, a varying server model; target c·Var(w_self) is still defined.
        double[] self = gaussian(N, 0, 0.1, 600);
        assertCloseNormwise(paper(x, self, 0.5, 1e-4, null).get("w"), corrected(correction("conservative", 0.5, null, null), x, self), 1e-13,
                "conservative over constant clients: " + TOL);
    }

    @Test
    void optionsAreCheckedAndBatchNormBuffersSkipped() {
        assertThrows(UsageException.class, () -> correction("follow-other", 0, null, null), "unknown mode");
        assertThrows(UsageException.class, () -> correction("conservative", 1.5, null, null), "c outside [0, 1]");
        assertThrows(UsageException.class, () -> correction("follow-others", 0, 1e-4, 1e-4), "eps and relative_eps together");
        assertThrows(UsageException.class, () -> correction("follow-others", 0, -1.0, null), "negative eps");
        for (String buffer : new String[] {"bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"}) {
            assertTrue(VarianceCorrection.skipped(buffer), buffer + " is left alone, as the reference implementation does");
        }
        assertFalse(VarianceCorrection.skipped("bn1.weight"), "norm gains are corrected like every parameter (the paper)");
    }
}
