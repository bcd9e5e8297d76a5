package io.weightlab.common.stats;

import java.io.Serializable;

/**
 * A summary of disjoint parts of some data that combines into the summary of their union: the moment, histogram
 * (quantile), log-power and pair-sum accumulators all work this way, so executors summarise slices and the
 * results meet in a reduce. The contract, stated as Apache DataSketches states its sketches':
 * <ul>
 *   <li><b>merge</b> adds {@code other} into {@code this} and returns {@code this}; {@code other} is not changed.
 *   Merging is associative and commutative up to floating-point rounding; jobs merge slices in slice order, so a
 *   result is bit-identical however the work was partitioned.</li>
 *   <li><b>empty</b>: a newly built summary holds no data ({@link #isEmpty()}) and is the identity of merge.</li>
 *   <li><b>errors</b>: merging summaries that cannot be combined (e.g. log-power tables centred at different
 *   locations) throws {@link IllegalArgumentException} naming both; nothing is mixed silently.</li>
 *   <li><b>serialise</b>: Java serialisation is the wire form between executors and driver (Spark's); sparse
 *   summaries send their occupied parts only. A deserialised summary equals the original.</li>
 *   <li><b>copy</b> is independent of the original: merging into one does not change the other.</li>
 * </ul>
 */
public interface Mergeable<T extends Mergeable<T>> extends Serializable {
    /** Adds {@code other} into this summary; returns this. */
    T merge(T other);

    /** An independent copy. */
    T copy();

    /** True while no value has been added (finite or not). */
    boolean isEmpty();
}
