package io.weightlab.common.transform;

import java.io.Serializable;

/**
 * What happens to one tensor's values, element range by element range, on the executor that writes it.
 * Implementations are deterministic functions of (tensor, element index, stored value): the same bytes however
 * the tensor is sliced, on however many executors, after any number of retries.
 */
public interface TensorAction extends Serializable {
    /** False only for "keep as stored": the bytes are copied (or just cast). */
    default boolean changesValues() { return true; }

    /** Whether {@link #apply} reads the stored values (rescaling) or writes from position alone (initialisation). */
    boolean needsInput();

    /**
     * Replaces {@code values[0..count)}, which hold elements {@code [first, first + count)} (decoded when
     * {@link #needsInput()}), by the new values.
     */
    void apply(long first, double[] values, int count);

    /** True when each output depends only on the stored value at the same position (rescales, casts). */
    default boolean elementwise() { return false; }

    /**
     * True when {@link #apply} may run on several threads at once for disjoint pieces (it keeps no mutable state):
     * then a shard task with cores to spare transforms this tensor's pieces in parallel.
     */
    default boolean parallelSafe() { return false; }

    /** Called on the executor before the first {@link #apply}, with the task's reader (for side data such as factors). */
    default void open(io.weightlab.common.io.RangeReader reader) { }

    /**
     * What the action found on the executor while writing (e.g. the rank an SVD edit kept), read after the last
     * {@link #apply} and before {@link #release}; it reaches the job's provenance. Values: numbers and strings.
     */
    default java.util.Map<String, Object> facts() { return java.util.Map.of(); }

    /** Drops anything cached for the tensor once it is fully written. */
    default void release() { }

    /** One line for provenance, e.g. "x -> 0.5·x + 0.001". */
    String describe();
}
