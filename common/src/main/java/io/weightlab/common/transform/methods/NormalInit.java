package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;

/** {@code normal}: N(0, std²); with std=kaiming or xavier it is torch's kaiming_normal_/xavier_normal_. */
public final class NormalInit extends DrawnInit {
    public NormalInit(MethodParams p) { super(p, "0.02"); }

    @Override protected Sampler sampler(double std, TensorContext c) { return Samplers.normal(std); }
}
