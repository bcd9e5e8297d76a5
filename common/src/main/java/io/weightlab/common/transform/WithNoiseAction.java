package io.weightlab.common.transform;

/**
 * Another action's values plus N(0, std²) noise drawn from (seed, tensor, element block) on a stream of its own:
 * {@code grow --noise-std} breaks the symmetry of copies at the price of losslessness (the job measures the cost).
 */
public record WithNoiseAction(TensorAction inner, double std, long seed, String tensor) implements TensorAction {
    @Override public boolean needsInput() { return inner.needsInput(); }

    @Override
    public void apply(long first, double[] values, int count) {
        inner.apply(first, values, count);
        double[] noise = new double[count];
        new DrawnAction(seed, tensor + "#noise", Samplers.normal(std)).apply(first, noise, count);
        for (int i = 0; i < count; i++) values[i] += noise[i];
    }

    @Override public boolean parallelSafe() { return inner.parallelSafe(); }

    @Override public void open(io.weightlab.common.io.RangeReader reader) { inner.open(reader); }

    @Override public java.util.Map<String, Object> facts() { return inner.facts(); }

    @Override public void release() { inner.release(); }

    @Override
    public String describe() { return inner.describe() + Samplers.fmt(" + N(0, %s^2)", std); }
}
