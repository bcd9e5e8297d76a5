package io.weightlab.common.transform;

/** Leaves the tensor as stored: its bytes are copied through (or only cast when --out-dtype asks). */
public final class KeepAction implements TensorAction {
    public static final KeepAction INSTANCE = new KeepAction();
    private static final long serialVersionUID = 1L;

    private KeepAction() {}

    @Override public boolean changesValues() { return false; }

    @Override public boolean needsInput() { return true; }

    @Override public boolean elementwise() { return true; }

    @Override public void apply(long first, double[] values, int count) { }

    @Override public String describe() { return "kept"; }

    private Object readResolve() { return INSTANCE; }
}
