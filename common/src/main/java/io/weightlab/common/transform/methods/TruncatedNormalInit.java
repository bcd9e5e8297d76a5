package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;

/**
 * {@code truncnormal}: a normal cut at ±{@code bound_sigmas}·s (default 2), with s set so the result has the
 * requested std (torch's trunc_normal_ takes absolute bounds and leaves the std below its argument).
 */
public final class TruncatedNormalInit extends DrawnInit {
    private final double bound;

    public TruncatedNormalInit(MethodParams p) {
        super(p, "0.02");
        this.bound = p.positive("bound_sigmas", 2.0);
    }

    @Override protected Sampler sampler(double std, TensorContext c) { return Samplers.truncatedNormal(std, bound); }
}
