package io.weightlab.common.fed;

import java.util.Arrays;

/** Coordinate-wise median (numpy's: the mean of the two middle values for even K), clients unweighted. */
public final class CoordinateMedian implements ElementAggregator {
    @Override
    public void combine(double[][] values, double[] weights, int count, double[] out) {
        int k = values.length;
        double[] col = new double[k];
        for (int i = 0; i < count; i++) {
            for (int c = 0; c < k; c++) col[c] = values[c][i];
            Arrays.sort(col);
            out[i] = k % 2 == 1 ? col[k / 2] : (col[k / 2 - 1] + col[k / 2]) / 2;
        }
    }

    @Override public String describe() { return "coordinate-wise median"; }

    @Override public boolean weighted() { return false; }
}
