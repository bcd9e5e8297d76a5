package io.weightlab.common.fed;

/** A client selector whose chosen clients are combined by their weighted mean (Krum, Multi-Krum, the geometric median). */
abstract class WeightedMeanSelector implements ClientSelector {
    private final WeightedMean mean = new WeightedMean();

    @Override
    public void combine(double[][] values, double[] weights, int count, double[] out) {
        mean.combine(values, weights, count, out);
    }
}
