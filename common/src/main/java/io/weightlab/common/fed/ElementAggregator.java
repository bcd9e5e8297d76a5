package io.weightlab.common.fed;

import java.io.Serializable;

/**
 * How K clients' values at the same positions become one value: {@code values[k][i]} is client k's element i of a
 * slice, {@code weights} sum to 1. Implementations are pure functions of their inputs (same bytes on any executor,
 * after any retry), registered by name in {@link AggregatorRegistry}.
 */
public interface ElementAggregator extends Serializable {
    void combine(double[][] values, double[] weights, int count, double[] out);

    /** One line for the report. */
    String describe();

    /** Whether example weights are used (FedAvg) or clients count equally (coordinate-wise median, trimmed mean). */
    default boolean weighted() { return true; }
}
