package io.weightlab.common.fed;

import java.io.Serializable;

/**
 * A server optimiser on the round's pseudo-gradient Δ = x̄ − x (aggregate minus the previous global, Reddi et al.,
 * "Adaptive Federated Optimization"), elementwise, with its state m (first moment / momentum) and v (second moment)
 * kept beside the global model between rounds. {@code t} is the 1-based number of server steps including this one.
 * Registered by name in {@link ServerOptimizerRegistry}.
 */
public interface ServerOptimizer extends Serializable {
    /** x, y (the aggregate), m, v in; x', m', v' out (m, v may be all zeros on the first round). */
    void step(double[] x, double[] y, double[] m, double[] v, int n, int t, double[] xOut, double[] mOut, double[] vOut);

    /** Whether v is part of the state (FedAvgM keeps only m). */
    default boolean usesSecondMoment() { return true; }

    String describe();
}
