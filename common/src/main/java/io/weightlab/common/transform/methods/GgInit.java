package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.ReferenceStats;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.error.UsageException;

/**
 * {@code gg}: generalized Gaussian of shape β with the scale that gives the requested std (docs/algorithms.md §2.3).
 * β is given ({@code beta=1.4}) or, for the "GG prior" init, the median fitted β of the same module kind in a
 * reference checkpoint's stats.json ({@code beta_from=ref/stats.json}).
 */
public final class GgInit extends DrawnInit {
    private final double beta;
    private final ReferenceStats reference;

    public GgInit(MethodParams p) {
        super(p, "0.02");
        boolean given = p.has("beta"), from = p.has("beta_from");
        if (given == from) throw new UsageException("gg: give exactly one of beta=<shape> or beta_from=<stats.json>");
        this.beta = given ? p.positive("beta", 2.0) : Double.NaN;
        this.reference = from ? ReferenceStats.parse(p.string("beta_from", null), p.file("beta_from")) : null;
        if (given && (beta < 0.05 || beta > 20)) throw new UsageException("gg: beta must be in [0.05, 20], got " + beta);
    }

    @Override
    protected Sampler sampler(double std, TensorContext c) {
        return Samplers.generalizedGaussian(std, reference == null ? beta : reference.beta(c.name()));
    }
}
