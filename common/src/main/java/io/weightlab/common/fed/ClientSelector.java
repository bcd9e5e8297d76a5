package io.weightlab.common.fed;

import java.util.Map;

/**
 * An aggregator that first chooses among the clients from their pairwise squared distances over all parameters
 * (Krum, Multi-Krum, Bulyan, the geometric median), then combines the chosen ones coordinate-wise with
 * {@link ElementAggregator#combine}. The distances come from one distributed pass ({@link PairwiseDistances}); the
 * choice runs on the driver in O(K²) memory.
 */
public interface ClientSelector extends ElementAggregator {
    /** Which clients to combine and with which weights: indices into the distance matrix, weights summing to 1. */
    record Selection(int[] clients, double[] weights, Map<String, Object> report) {}

    /** {@code d[i][j]} = ‖w_i − w_j‖² over every floating-point parameter; {@code weights} = the round's p_k (sum 1). */
    Selection select(double[][] d, double[] weights);
}
