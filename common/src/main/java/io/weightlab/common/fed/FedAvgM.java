package io.weightlab.common.fed;

/** FedAvgM: m' = β·m + Δ, x' = x + η·m' (Flower's FedAvg with server_momentum; η = 1, β = 0 is plain FedAvg). */
public record FedAvgM(double eta, double beta) implements ServerOptimizer {
    @Override
    public void step(double[] x, double[] y, double[] m, double[] v, int n, int t, double[] xOut, double[] mOut, double[] vOut) {
        for (int i = 0; i < n; i++) {
            double mm = beta * m[i] + (y[i] - x[i]);
            mOut[i] = mm;
            xOut[i] = eta == 1.0 && beta == 0.0 ? y[i] : x[i] + eta * mm;
        }
    }

    @Override public boolean usesSecondMoment() { return false; }

    @Override public String describe() { return "FedAvgM (eta " + eta + ", momentum " + beta + ")"; }
}
