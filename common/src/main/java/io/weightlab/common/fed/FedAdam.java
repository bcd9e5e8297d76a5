package io.weightlab.common.fed;

/**
 * FedAdam: m' = β₁m + (1−β₁)Δ, v' = β₂v + (1−β₂)Δ², x' = x + η_t·m'/(√v' + τ) with Adam's bias correction
 * η_t = η·√(1−β₂ᵗ)/(1−β₁ᵗ) (Flower applies the same correction with t = server_round + 1).
 */
public record FedAdam(double eta, double beta1, double beta2, double tau) implements ServerOptimizer {
    @Override
    public void step(double[] x, double[] y, double[] m, double[] v, int n, int t, double[] xOut, double[] mOut, double[] vOut) {
        double etaT = eta * Math.sqrt(1 - Math.pow(beta2, t)) / (1 - Math.pow(beta1, t));
        for (int i = 0; i < n; i++) {
            double d = y[i] - x[i];
            double mm = beta1 * m[i] + (1 - beta1) * d, vv = beta2 * v[i] + (1 - beta2) * d * d;
            mOut[i] = mm;
            vOut[i] = vv;
            xOut[i] = x[i] + etaT * mm / (Math.sqrt(vv) + tau);
        }
    }

    @Override public String describe() { return "FedAdam (eta " + eta + ", betas " + beta1 + "/" + beta2 + ", tau " + tau + ")"; }
}
