package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;

/**
 * {@code gpt2-residual}: GPT-2's special residual init (docs/algorithms.md §1.1): attention-output and MLP-down
 * projections from N(0, (initializer_range/√(2·n_layer))²), every other weight from N(0, initializer_range²).
 */
public final class Gpt2ResidualInit extends DrawnInit {
    public Gpt2ResidualInit(MethodParams p) { super(p, "gpt2"); }

    @Override protected Sampler sampler(double std, TensorContext c) { return Samplers.normal(std); }
}
