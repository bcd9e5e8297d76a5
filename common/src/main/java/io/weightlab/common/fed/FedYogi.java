package io.weightlab.common.fed;

/** FedYogi: as FedAdam without bias correction, v' = v − (1−β₂)·Δ²·sign(v − Δ²) (Flower's FedYogi). */
public record FedYogi(double eta, double beta1, double beta2, double tau) implements ServerOptimizer {
    @Override
    public void step(double[] x, double[] y, double[] m, double[] v, int n, int t, double[] xOut, double[] mOut, double[] vOut) {
        for (int i = 0; i < n; i++) {
            double d = y[i] - x[i], d2 = d * d;
            double mm = beta1 * m[i] + (1 - beta1) * d, vv = v[i] - (1 - beta2) * d2 * Math.signum(v[i] - d2);
            mOut[i] = mm;
            vOut[i] = vv;
            xOut[i] = x[i] + eta * mm / (Math.sqrt(vv) + tau);
        }
    }

    @Override public String describe() { return "FedYogi (eta " + eta + ", betas " + beta1 + "/" + beta2 + ", tau " + tau + ")"; }
}
