package io.weightlab.common.fed;

/** FedAvg: Σ p_k x_k, accumulated in double in client order (fixed, so the result does not depend on arrival). */
public final class WeightedMean implements ElementAggregator {
    @Override
    public void combine(double[][] values, double[] weights, int count, double[] out) {
        // Start from the first term, not from +0.0: +0.0 + (−0.0) would turn a stored −0.0 into +0.0.
        double p0 = weights[0];
        double[] x0 = values[0];
        for (int i = 0; i < count; i++) out[i] = p0 * x0[i];
        for (int k = 1; k < values.length; k++) {
            double p = weights[k];
            double[] x = values[k];
            for (int i = 0; i < count; i++) out[i] += p * x[i];
        }
    }

    @Override public String describe() { return "weighted mean (FedAvg)"; }
}
