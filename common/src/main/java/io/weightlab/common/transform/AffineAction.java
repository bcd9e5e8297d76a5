package io.weightlab.common.transform;

/** x → scale·x + shift, computed in double (a rescale that keeps the mean has shift = μ(1 − scale)). */
public record AffineAction(double scale, double shift) implements TensorAction {
    @Override public boolean needsInput() { return true; }

    @Override public boolean elementwise() { return true; }

    @Override
    public void apply(long first, double[] values, int count) {
        for (int i = 0; i < count; i++) values[i] = scale * values[i] + shift;
    }

    @Override
    public String describe() { return Samplers.fmt("x -> %s*x + %s", scale, shift); }
}
