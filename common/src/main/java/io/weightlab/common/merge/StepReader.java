package io.weightlab.common.merge;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;

/**
 * One step's values of the base and the N inputs, read into arrays that are reused across the full steps of a task
 * instead of fresh ones per step and model: the heap then stops growing with the allocation rate, which was N times
 * higher at N inputs (peak RSS 0.63 GB at 3 inputs vs 0.90 GB at 12 with the same budget, BENCHMARKS.md). A partial
 * step (a tensor's or slice's last) gets arrays of its own length, since methods may take an array's length as the
 * step's. The caller may overwrite what it gets (the merge turns values into task vectors in place); the next read
 * of that slot refills it.
 */
final class StepReader {
    private final RangeReader reader;
    private final int step;
    private final double[][] slots;
    private byte[] raw;

    /** @param slots how many tensors a step reads (e.g. the base and N inputs: N + 1) */
    StepReader(RangeReader reader, int slots, int step) {
        this.reader = reader;
        this.step = step;
        this.slots = new double[slots][];
    }

    /** Elements [from, from + len) of {@code t} as doubles, in slot {@code slot}'s array when len is a full step. */
    double[] read(int slot, TensorInfo t, long from, int len) {
        if (len != step) return TensorValues.read(reader, t, from, from + len, null);
        if (slots[slot] == null) slots[slot] = new double[step];
        raw = TensorValues.readInto(reader, t, from, len, slots[slot], raw);
        return slots[slot];
    }
}
