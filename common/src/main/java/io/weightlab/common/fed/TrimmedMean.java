package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.Arrays;

/**
 * Coordinate-wise trimmed mean: drop the floor(β·K) smallest and largest values at each position, average the rest
 * (scipy.stats.trim_mean's rule, Flower's FedTrimmedAvg default β = 0.2); clients unweighted.
 */
public final class TrimmedMean implements ElementAggregator {
    private final double beta;

    public TrimmedMean(double beta) {
        if (!(beta >= 0 && beta < 0.5)) throw new UsageException("trimmed-mean: beta must be in [0, 0.5), got " + beta);
        this.beta = beta;
    }

    public double beta() { return beta; }

    @Override
    public void combine(double[][] values, double[] weights, int count, double[] out) {
        int k = values.length, cut = (int) Math.floor(beta * k);
        double[] col = new double[k];
        for (int i = 0; i < count; i++) {
            for (int c = 0; c < k; c++) col[c] = values[c][i];
            Arrays.sort(col);
            double s = col[cut]; // not 0.0 + …: keeps a −0.0
            for (int c = cut + 1; c < k - cut; c++) s += col[c];
            out[i] = s / (k - 2 * cut);
        }
    }

    @Override public String describe() { return "trimmed mean (beta " + beta + ")"; }

    @Override public boolean weighted() { return false; }
}
