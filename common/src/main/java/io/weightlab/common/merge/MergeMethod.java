package io.weightlab.common.merge;

import java.io.Serializable;
import java.util.List;

/**
 * One merge method (mergekit's names and parameter semantics; docs/algorithms.md "Model merging"), registered by name
 * in {@link MergeRegistry}. It computes elements [first, first + count) of one output tensor from the same elements of
 * the base and of every input, so a task holds one slice of the N models, never a whole tensor; what needs the
 * whole tensor is measured by earlier passes into {@link TensorMerge}.
 */
public interface MergeMethod extends Serializable {
    /** Whether {@code base_model} is required (task vectors τ = x − base). */
    boolean needsBase();

    /** Whether a {@code base_model}, when given, is used (nuslerp: optional); the base is then not an input. */
    default boolean acceptsBase() { return needsBase(); }

    /** Whether a given {@code base_model} is one more input, listed under {@code models} or not (karcher, as mergekit). */
    default boolean baseIsInput() { return false; }

    /** Refuses parameter values the method does not implement (after they are resolved for a tensor). */
    default void check(TensorMerge m) { }

    /** Parameters resolved per input model; the method's other parameters are global. */
    List<String> perModelParams();

    /** Exactly this many inputs besides the base, or 0 for any number. */
    default int exactInputs() { return 0; }

    /** Per input, the top-k counts whose cuts the method needs (null: none). */
    default long[][] topK(TensorMerge m) { return null; }

    /** Whether the first pass must measure Σ|τ| and Σ|m⊙τ| under the method's random mask (DARE's L1 rescale). */
    default boolean needsMaskNorms(TensorMerge m) { return false; }

    /** Whether the first pass must measure b·x, ‖b‖², ‖x‖² (SLERP). */
    default boolean needsDots() { return false; }

    /** Whether the first pass must measure the Gram matrix G_ij = δ_i·δ_j of the inputs (δ = x − b, or x without a base). */
    default boolean needsGram() { return false; }

    /** Elements [first, first + count) of the output. {@code base} may be null; {@code xs[i]} may be overwritten. */
    void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out);

    /** The random keep mask of input i for elements [first, first + count), or null when the method draws none. */
    default boolean[] mask(TensorMerge m, int input, long first, int count) { return null; }
}
