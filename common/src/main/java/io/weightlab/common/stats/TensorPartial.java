package io.weightlab.common.stats;

import java.io.Serializable;

/** The mergeable partial result of one or more slices of one tensor. */
public final class TensorPartial implements Serializable {
    private static final long serialVersionUID = 1L;

    private final MomentAccumulator moments;
    private final QuantileSummary quantiles;

    public TensorPartial(MomentAccumulator moments, QuantileSummary quantiles) {
        this.moments = moments;
        this.quantiles = quantiles;
    }

    public MomentAccumulator moments() { return moments; }

    public QuantileSummary quantiles() { return quantiles; }

    /** A deep copy, for feeding one partial into several roll-ups. */
    public TensorPartial copy() {
        return new TensorPartial(moments.copy(), quantiles.copy());
    }

    public TensorPartial merge(TensorPartial o) {
        moments.merge(o.moments);
        quantiles.merge(o.quantiles);
        return this;
    }
}
