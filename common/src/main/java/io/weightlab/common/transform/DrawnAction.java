package io.weightlab.common.transform;

import org.apache.commons.math3.random.RandomGenerator;

/**
 * Values drawn from a sampler, element e from the stream of block e / {@link TensorRandom#BLOCK} of this tensor.
 * A range that starts inside a block replays that block's draws up to its start, so slicing never changes a value.
 * Rows listed in {@code zeroRows} (an embedding's padding index) are written as 0.
 */
public record DrawnAction(long seed, String tensor, Sampler sampler, long rowElements, long[] zeroRows) implements TensorAction {
    public DrawnAction(long seed, String tensor, Sampler sampler) {
        this(seed, tensor, sampler, 1, new long[0]);
    }

    @Override public boolean needsInput() { return false; }

    @Override
    public void apply(long first, double[] values, int count) {
        TensorRandom.forEachBlock(first, count, (block, skip, take, at) -> {
            RandomGenerator rng = TensorRandom.forBlock(seed, tensor, block);
            if (skip > 0) sampler.fill(rng, new double[skip], 0, skip);
            sampler.fill(rng, values, at, take);
        });
        for (long row : zeroRows) {
            long from = Math.max(first, row * rowElements), to = Math.min(first + count, (row + 1) * rowElements);
            for (long i = from; i < to; i++) values[(int) (i - first)] = 0.0;
        }
    }

    @Override
    public String describe() {
        return sampler.describe() + (zeroRows.length > 0 ? ", rows " + java.util.Arrays.toString(zeroRows) + " zero" : "");
    }
}
