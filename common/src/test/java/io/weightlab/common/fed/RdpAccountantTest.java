package io.weightlab.common.fed;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RDP accountant against published values (TF Privacy's {@code privacy/analysis/rdp_accountant_test.py} and
 * Opacus's {@code tests/accountants_test.py} and {@code opacus/accountants/analysis/rdp.py} docstring, quoted with
 * their tolerances), and against an independent computation: scipy's numerical integral of Mironov et al.'s
 * definition A_α = E_{z~N(0,σ²)}[((1−q) + q·exp((2z−1)/(2σ²)))^α], which shares no code path with the series.
 */
class RdpAccountantTest {
    private static double rdpSteps(double q, double sigma, long steps, double alpha) {
        return RdpAccountant.rdp(List.of(new RdpAccountant.Segment(q, sigma, steps)), new double[] {alpha})[0];
    }

    @Test
    void matchesTfPrivacyRdpValues() {
        // rdp_accountant_test.py, test_compute_rdp_no_sampling: q = 1, σ = 10, α = 20 → 0.1 (α/(2σ²))
        assertEquals(0.1, rdpSteps(1, 10, 1, 20), 1e-12);
        // test_compute_rdp_scalar: q = 0.1, σ = 2, 10 steps, α = 5 → 0.07737 (assertAlmostEqual, 4 places)
        assertEquals(0.07737, rdpSteps(0.1, 2, 10, 5), 1e-4);
        // test_compute_rdp_sequence: q = 0.01, σ = 2.5, 50 steps; published to 1e-5 (fractional and integer orders)
        double[] orders = {1.5, 2.5, 5, 50, 100, Double.POSITIVE_INFINITY};
        double[] want = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, Double.POSITIVE_INFINITY};
        double[] got = RdpAccountant.rdp(List.of(new RdpAccountant.Segment(0.01, 2.5, 50)), orders);
        for (int i = 0; i < orders.length; i++) {
            if (Double.isInfinite(want[i])) assertEquals(want[i], got[i], "order ∞");
            else assertEquals(want[i], got[i], 1e-5, "order " + orders[i]); // assertSequenceAlmostEqual(delta=1e-5)
        }
    }

    @Test
    void conversionMatchesTfPrivacyAndOpacus() {
        // rdp_accountant_test.py, test_get_privacy_spent_check_target_delta: constant RDP 1.1 at orders 2..32, δ = 1e-5
        double[] orders = new double[31];
        double[] rdp = new double[31];
        for (int i = 0; i < 31; i++) {
            orders[i] = i + 2;
            rdp[i] = 1.1;
        }
        RdpAccountant.Spent s = RdpAccountant.epsilon(orders, rdp, 1e-5);
        assertEquals(1.32783806176, s.epsilon(), 1e-10);
        assertEquals(32, s.order());
        // Opacus rdp.py docstring: (q = 1e-5, σ = 1, 10 steps) + (q = 1e-4, σ = 3, 4 steps), orders 2..32 → ε ≈ 0.336 at α = 23
        double[] r = RdpAccountant.rdp(List.of(new RdpAccountant.Segment(1e-5, 1, 10), new RdpAccountant.Segment(1e-4, 3, 4)), orders);
        RdpAccountant.Spent two = RdpAccountant.epsilon(orders, r, 1e-5);
        assertEquals(0.336, two.epsilon(), 5e-4);
        assertEquals(23, two.order());
    }

    @Test
    void defaultOrdersMatchOpacusAccountantTest() {
        // Opacus tests/accountants_test.py, test_rdp_accountant: σ = 1.5, q = 0.04, 2250 steps, δ = 1e-5 → ε = 7.32911117143
        assertEquals(151, RdpAccountant.DEFAULT_ORDERS.length);
        RdpAccountant.Spent s = RdpAccountant.epsilon(List.of(new RdpAccountant.Segment(0.04, 1.5, 2250)), 1e-5);
        assertEquals(7.32911117143, s.epsilon(), 1e-6);
        assertEquals(3.9, s.order(), 1e-12);
    }

    @Test
    void perStepRdpMatchesNumericalIntegralOfTheDefinition() {
        double[] qs = {0.01, 0.05, 0.3, 0.7};
        double[] sigmas = {0.8, 1.1, 2.0, 4.0};
        double[] alphas = {1.25, 1.5, 2, 3.7, 8, 16.5};
        double[] got = new double[qs.length * alphas.length];
        for (int a = 0; a < qs.length; a++) {
            for (int b = 0; b < alphas.length; b++) got[a * alphas.length + b] = RdpAccountant.rdp(qs[a], sigmas[a], alphas[b]);
        }
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("qs", qs);
        in.put("sigmas", sigmas);
        in.put("alphas", alphas);
        Map<String, double[]> ref = NumpyReference.run(in, """
                import scipy.integrate
                res = []
                for q, s in zip(qs, sigmas):
                    for a in alphas:
                        # log of the integrand, kept in log space: exp(x) stays finite for the orders tested
                        def f(z):
                            log_ratio = np.logaddexp(np.log1p(-q), np.log(q) + (2 * z - 1) / (2 * s * s))
                            return np.exp(a * log_ratio - z * z / (2 * s * s)) / (s * np.sqrt(2 * np.pi))
                        A, _ = scipy.integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-12, limit=500)
                        res.append(np.log(A) / (a - 1))
                out("rdp", res)
                """);
        // quad's relative error 1e-12 on A becomes an absolute error ~1e-12/(α−1) on the RDP; the series stops at e^−30
        NumpyReference.assertClose(ref.get("rdp"), got, 1e-8, 1e-11, "scipy quad of the definition, rel 1e-8");
    }

    @Test
    void edgeCasesAndComposition() {
        assertEquals(0.0, RdpAccountant.rdp(0, 1, 2));
        assertEquals(Double.POSITIVE_INFINITY, RdpAccountant.rdp(0.5, 0, 2));
        // composition is additive: 3 + 7 steps of the same segment = 10 steps
        double[] o = RdpAccountant.DEFAULT_ORDERS;
        double[] ten = RdpAccountant.rdp(List.of(new RdpAccountant.Segment(0.1, 1.3, 10)), o);
        double[] split = RdpAccountant.rdp(List.of(new RdpAccountant.Segment(0.1, 1.3, 3), new RdpAccountant.Segment(0.1, 1.3, 7)), o);
        for (int i = 0; i < o.length; i++) assertEquals(ten[i], split[i], 1e-12 * ten[i]);
        // ε grows with the rounds and falls with the noise
        double e1 = RdpAccountant.epsilon(List.of(new RdpAccountant.Segment(1, 1, 1)), 1e-5).epsilon();
        double e2 = RdpAccountant.epsilon(List.of(new RdpAccountant.Segment(1, 1, 2)), 1e-5).epsilon();
        double e3 = RdpAccountant.epsilon(List.of(new RdpAccountant.Segment(1, 2, 2)), 1e-5).epsilon();
        assertTrue(e1 < e2 && e3 < e2, e1 + " " + e2 + " " + e3);
    }
}
