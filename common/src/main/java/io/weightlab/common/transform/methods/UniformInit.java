package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;

/** {@code uniform}: U(−√3·std, √3·std); with std=xavier it is torch's xavier_uniform_. */
public final class UniformInit extends DrawnInit {
    public UniformInit(MethodParams p) { super(p, "0.02"); }

    @Override protected Sampler sampler(double std, TensorContext c) { return Samplers.uniform(std); }
}
