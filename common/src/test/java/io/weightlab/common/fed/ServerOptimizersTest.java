package io.weightlab.common.fed;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static io.weightlab.common.fed.NumpyReference.assertCloseNormwise;
import static io.weightlab.common.fed.NumpyReference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server optimisers over two rounds (state carried from the first step into the second) against numpy's
 * two-step recurrence, written from Reddi et al., "Adaptive Federated Optimization" (Algorithm 2, pseudo-gradient
 * Δ = x̄ − x) as Flower implements it (FedAdam's bias-corrected η, FedYogi's sign rule, FedAdagrad's sum of squares),
 * and FedAvgM from Hsu et al. (m' = βm + Δ, x' = x + ηm', Flower's server_momentum). Flower's parameter names map
 * to ours as eta → eta, beta_1 → beta1, beta_2 → beta2, tau → tau, server_momentum → momentum. FedAdam's η_t uses
 * t = the server step (1 on the first round), as {@link FedAdam} documents; Flower's exponent is server_round + 1.
 */
class ServerOptimizersTest {
    static final int N = 48;

    /** The single place that builds an optimiser by name with parameters (the method contract may change how). */
    static ServerOptimizer optimizer(String name, Map<String, String> params) {
        return ServerOptimizerRegistry.create(name, params);
    }

    /** numpy's FedOpt step on (x, y, m, v) at server step t, Flower's update rules; sets x, m, v to the new state. */
    static final String FEDOPT = """
            def step(name, x, y, m, v, t, eta, beta1, beta2, tau, momentum):
                d = y - x
                if name == "fedavgm":
                    m = momentum * m + d
                    return x + eta * m, m, v
                m = beta1 * m + (1 - beta1) * d
                if name == "fedadam":
                    v = beta2 * v + (1 - beta2) * (d * d)
                    eta = eta * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                elif name == "fedyogi":
                    v = v - (1 - beta2) * (d * d) * np.sign(v - d * d)
                else:
                    v = v + d * d
                return x + eta * m / (np.sqrt(v) + tau), m, v
            m = np.zeros_like(x0); v = np.zeros_like(x0)
            x1, m, v = step(name, x0, y1, m, v, 1, *hp)
            out("x1", x1); out("m1", m); out("v1", v)
            x2, m, v = step(name, x1, y2, m, v, 2, *hp)
            out("x2", x2); out("m2", m); out("v2", v)
            """;

    /** Two rounds of ours from zero state: x0 → x1 (t = 1) → x2 (t = 2), then the same in numpy; compares all six arrays. */
    static void twoRoundsMatchNumpy(String name, ServerOptimizer opt, double[] hyper) {
        double[] x0 = gaussian(N, 0, 0.05, 1), y1 = gaussian(N, 0, 0.05, 2), y2 = gaussian(N, 0, 0.05, 3);
        y1[5] = x0[5]; // a coordinate with Δ = 0 in round 1 (Yogi's sign(0) = 0, Adagrad's v stays 0)
        double[] m0 = new double[N], v0 = new double[N];
        double[] x1 = new double[N], m1 = new double[N], v1 = new double[N];
        opt.step(x0, y1, m0, v0, N, 1, x1, m1, v1);
        double[] x2 = new double[N], m2 = new double[N], v2 = new double[N];
        opt.step(x1, y2, m1, v1, N, 2, x2, m2, v2);

        Map<String, Object> in = new LinkedHashMap<>(Map.of("x0", x0, "y1", y1, "y2", y2, "hp", hyper));
        Map<String, double[]> ref = NumpyReference.run(in, "name = '" + name + "'\nhp = list(hp)\n" + FEDOPT);
        // Round 1 differs only by the order of a few operations (and np.power vs Math.pow in FedAdam's η_t): 1e-15 of the
        // largest value. Round 2 also inherits x₁'s last-ulp difference through Δ₂ = y₂ − x₁, which m₂ = β₁m₁ + (1−β₁)Δ₂
        // can cancel down to tiny values: 1e-14 of the largest value.
        String why = name + ": the same recurrence in double, error relative to the array's largest value, ";
        assertCloseNormwise(ref.get("m1"), m1, 1e-15, why + "round 1 m within 1e-15");
        assertCloseNormwise(ref.get("m2"), m2, 1e-14, why + "round 2 m within 1e-14");
        if (opt.usesSecondMoment()) {
            assertCloseNormwise(ref.get("v1"), v1, 1e-15, why + "round 1 v within 1e-15");
            assertCloseNormwise(ref.get("v2"), v2, 1e-14, why + "round 2 v within 1e-14");
        }
        assertCloseNormwise(ref.get("x1"), x1, 1e-15, why + "round 1 x within 1e-15");
        assertCloseNormwise(ref.get("x2"), x2, 1e-14, why + "round 2 x within 1e-14");
    }

    // hyper = {eta, beta1, beta2, tau, momentum}, the numpy step's arguments

    @Test
    void fedAdamWithFlowersDefaultsOverTwoRounds() {
        twoRoundsMatchNumpy("fedadam", optimizer("fedadam", Map.of()), new double[] {0.1, 0.9, 0.99, 1e-9, 0});
    }

    @Test
    void fedYogiWithFlowersDefaultsOverTwoRounds() {
        twoRoundsMatchNumpy("fedyogi", optimizer("fedyogi", Map.of()), new double[] {0.01, 0.9, 0.99, 1e-3, 0});
    }

    @Test
    void fedAdagradWithFlowersDefaultsOverTwoRounds() {
        twoRoundsMatchNumpy("fedadagrad", optimizer("fedadagrad", Map.of()), new double[] {0.1, 0.0, 0, 1e-9, 0});
    }

    @Test
    void adaptiveOptimisersWithOtherParametersOverTwoRounds() {
        // τ of the order of |Δ| and β's far from the defaults, so every term of the formulas moves the result
        Map<String, String> p = Map.of("eta", "0.3", "beta1", "0.5", "beta2", "0.8", "tau", "0.02");
        double[] hyper = {0.3, 0.5, 0.8, 0.02, 0};
        twoRoundsMatchNumpy("fedadam", optimizer("fedadam", p), hyper);
        twoRoundsMatchNumpy("fedyogi", optimizer("fedyogi", p), hyper);
        twoRoundsMatchNumpy("fedadagrad", optimizer("fedadagrad", Map.of("eta", "0.3", "beta1", "0.5", "tau", "0.02")), hyper);
    }

    @Test
    void fedAvgMOverTwoRounds() {
        ServerOptimizer opt = optimizer("fedavgm", Map.of("eta", "0.7", "momentum", "0.9"));
        assertFalse(opt.usesSecondMoment(), "FedAvgM keeps only the momentum");
        twoRoundsMatchNumpy("fedavgm", opt, new double[] {0.7, 0, 0, 0, 0.9});
    }

    @Test
    void fedAdamsFirstStepMovesEveryCoordinateByEta() {
        // Bias correction at t = 1: η·√(1−β₂)/(1−β₁) · (1−β₁)Δ / (√(1−β₂)|Δ| + τ) = η·sign(Δ) up to τ/|Δ|
        double[] x = gaussian(N, 0, 1, 7), y = gaussian(N, 0, 1, 8);
        double[] xo = new double[N], mo = new double[N], vo = new double[N];
        optimizer("fedadam", Map.of()).step(x, y, new double[N], new double[N], N, 1, xo, mo, vo);
        for (int i = 0; i < N; i++) {
            double d = Math.abs(y[i] - x[i]), damping = 1e-9 / (Math.sqrt(1 - 0.99) * d); // τ / (√(1−β₂)|Δ|)
            assertEquals(0.1 * Math.signum(y[i] - x[i]), xo[i] - x[i], 0.1 * damping + 1e-15,
                    "element " + i + ": first step = η·sign(Δ); tolerance η·τ/(√(1−β₂)|Δ|), what τ takes off, plus rounding");
        }
    }

    @Test
    void fedAvgMWithUnitRateAndNoMomentumIsPlainFedAvgBitForBit() {
        double[] x = gaussian(N, 0, 1, 9), y = gaussian(N, 0, 1, 10);
        double[] xo = new double[N], mo = new double[N], vo = new double[N];
        optimizer("fedavgm", Map.of("eta", "1", "momentum", "0")).step(x, y, new double[N], new double[N], N, 1, xo, mo, vo);
        for (int i = 0; i < N; i++) assertEquals(y[i], xo[i], 0.0, "element " + i + ": η = 1, β = 0 returns the aggregate itself (no x + (y − x) rounding)");
    }

    @Test
    void everyRegisteredOptimiserCarriesItsStateAcrossRounds() {
        // Round 2 must depend on round 1's state: the same round-2 inputs from zero state give another result.
        for (String name : new String[] {"fedavgm", "fedadam", "fedyogi", "fedadagrad"}) {
            ServerOptimizer opt = optimizer(name, Map.of());
            double[] x = gaussian(N, 0, 0.05, 11), y = gaussian(N, 0, 0.05, 12);
            double[] m = gaussian(N, 0, 0.01, 13), v = gaussian(N, 0.01, 0.001, 14);
            double[] carried = new double[N], fresh = new double[N], mo = new double[N], vo = new double[N];
            opt.step(x, y, m, v, N, 2, carried, mo, vo);
            opt.step(x, y, new double[N], new double[N], N, 2, fresh, mo, vo);
            boolean differs = false;
            for (int i = 0; i < N; i++) differs |= carried[i] != fresh[i];
            assertTrue(differs, name + ": the previous round's m (and v) change the step");
        }
    }

    /**
     * fedavgm's defaults are η = 1 and momentum β = 0.9 (Hsu et al.'s value; Flower's server_momentum defaults to 0,
     * which is plain FedAvg): documented in the README and docs/methods.md, checked here against numpy's recurrence.
     */
    @Test
    void fedAvgMDefaultsAreEtaOneAndHsusMomentum() {
        twoRoundsMatchNumpy("fedavgm", optimizer("fedavgm", Map.of()), new double[] {1.0, 0, 0, 0, 0.9});
    }
}
