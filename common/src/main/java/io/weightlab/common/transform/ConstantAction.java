package io.weightlab.common.transform;

import java.util.Arrays;

/** Every element set to one value (biases are zeroed this way). */
public record ConstantAction(double value) implements TensorAction {
    @Override public boolean needsInput() { return false; }

    @Override
    public void apply(long first, double[] values, int count) { Arrays.fill(values, 0, count, value); }

    @Override
    public String describe() { return Samplers.fmt("all %s", value); }
}
