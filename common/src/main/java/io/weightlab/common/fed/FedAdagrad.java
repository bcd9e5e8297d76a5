package io.weightlab.common.fed;

/** FedAdagrad: m' = β₁m + (1−β₁)Δ, v' = v + Δ², x' = x + η·m'/(√v' + τ) (Flower's FedAdagrad). */
public record FedAdagrad(double eta, double beta1, double tau) implements ServerOptimizer {
    @Override
    public void step(double[] x, double[] y, double[] m, double[] v, int n, int t, double[] xOut, double[] mOut, double[] vOut) {
        for (int i = 0; i < n; i++) {
            double d = y[i] - x[i];
            double mm = beta1 * m[i] + (1 - beta1) * d, vv = v[i] + d * d;
            mOut[i] = mm;
            vOut[i] = vv;
            xOut[i] = x[i] + eta * mm / (Math.sqrt(vv) + tau);
        }
    }

    @Override public String describe() { return "FedAdagrad (eta " + eta + ", beta1 " + beta1 + ", tau " + tau + ")"; }
}
