package io.weightlab.common.transform;

/** x → scale·x + ε, ε ~ N(0, std²) drawn from (seed, tensor, element block): a replicated expert with noise. */
public record AffineWithNoiseAction(double scale, double std, long seed, String tensor) implements TensorAction {
    @Override public boolean needsInput() { return true; }

    @Override
    public void apply(long first, double[] values, int count) {
        double[] noise = new double[count];
        new DrawnAction(seed, tensor, Samplers.normal(std)).apply(first, noise, count);
        for (int i = 0; i < count; i++) values[i] = scale * values[i] + noise[i];
    }

    @Override
    public String describe() { return Samplers.fmt("x -> %s*x + N(0, %s^2)", scale, std); }
}
