package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;

/**
 * {@code lir}, Layer Index Rescaling (docs/algorithms.md §1.1): weights inside block l (1-based) drawn from
 * N(0, (initializer_range/√(l·scale_factor))²), weights outside the blocks from N(0, initializer_range²),
 * biases zeroed, norms untouched, as the weight_rescaling reference code initialises.
 */
public final class LirInit extends DrawnInit {
    public LirInit(MethodParams p) { super(p, "lir"); }

    @Override protected Sampler sampler(double std, TensorContext c) { return Samplers.normal(std); }
}
