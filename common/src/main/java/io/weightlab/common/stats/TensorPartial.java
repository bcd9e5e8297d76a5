package io.weightlab.common.stats;


/** The mergeable partial result of one or more slices of one tensor. */
public final class TensorPartial implements Mergeable<TensorPartial> {
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
    @Override
    public TensorPartial copy() {
        return new TensorPartial(moments.copy(), quantiles.copy());
    }

    @Override
    public boolean isEmpty() { return moments.isEmpty() && quantiles.isEmpty(); }

    @Override
    public TensorPartial merge(TensorPartial o) {
        moments.merge(o.moments);
        quantiles.merge(o.quantiles);
        return this;
    }
}
