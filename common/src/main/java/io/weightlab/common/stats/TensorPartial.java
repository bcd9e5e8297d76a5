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

    /** A deep copy (through serialization), for feeding one partial into several roll-ups. */
    public TensorPartial copy() {
        try {
            java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
            try (java.io.ObjectOutputStream oo = new java.io.ObjectOutputStream(bo)) {
                oo.writeObject(this);
            }
            try (java.io.ObjectInputStream oi = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bo.toByteArray()))) {
                return (TensorPartial) oi.readObject();
            }
        } catch (java.io.IOException | ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    public TensorPartial merge(TensorPartial o) {
        moments.merge(o.moments);
        quantiles.merge(o.quantiles);
        return this;
    }
}
