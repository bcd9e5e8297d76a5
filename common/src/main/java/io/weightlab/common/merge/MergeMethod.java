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

    /** As {@link #check(TensorMerge)}, with the inputs' model references (recipe order) for messages that name one. */
    default void check(TensorMerge m, List<String> models) { check(m); }

    /** Parameters resolved per input model; the method's other parameters are global. */
    List<String> perModelParams();

    /** Exactly this many inputs besides the base, or 0 for any number. */
    default int exactInputs() { return 0; }

    /** Per input, the top-k counts whose cuts the method needs (null: none). */
    default long[][] topK(TensorMerge m) { return null; }

    /**
     * Whether the method ranks one value per element across the whole tensor (sce: the variance of the τ_i across
     * models) instead of each input's |τ|: the top-k search then sits at input 0, cut 0, is opened after the first
     * pass with k = {@link #rankK} of the count of nonzero values, and a pass after the cut measures Σ(m⊙τ_i)².
     */
    default boolean ranksAcrossInputs(TensorMerge m) { return false; }

    /** The ranked values of {@code len} elements from τ_i = {@code tau[i][0..len)}; only with {@link #ranksAcrossInputs}. */
    default void rankValues(TensorMerge m, double[][] tau, int len, double[] out) { throw new UnsupportedOperationException(); }

    /** The k of the search across inputs, given how many elements have a nonzero ranked value. */
    default long rankK(TensorMerge m, long nonZero) { throw new UnsupportedOperationException(); }

    /** Whether the first pass must measure Σ|τ| and Σ|m⊙τ| under the method's random mask (DARE's L1 rescale). */
    default boolean needsMaskNorms(TensorMerge m) { return false; }

    /** Whether the first pass must measure b·x, ‖b‖², ‖x‖² (SLERP). */
    default boolean needsDots() { return false; }

    /** Whether the first pass must measure the Gram matrix G_ij = δ_i·δ_j of the inputs (δ = x − b, or x without a base). */
    default boolean needsGram() { return false; }

    /**
     * How many vectors along the first dimension (W[:, j] of a matrix; element e is in vector e mod this) the first
     * pass measures the 2 x 2 Gram of, δ_0 and δ_1 (nuslerp_row_wise); 0: none. Memory: 3 doubles per vector.
     */
    default long columnVectors(TensorMerge m) { return 0; }

    /** Elements [first, first + count) of the output. {@code base} may be null; {@code xs[i]} may be overwritten. */
    void merge(TensorMerge m, long first, int count, double[] base, double[][] xs, long[][] eqBefore, double[] out);

    /**
     * The random keep mask of input i for elements [first, first + count), or null when the method draws none.
     * {@code tau} holds τ_i = x_i − b of those elements (DELLA ranks |τ| within rows; DARE ignores it).
     */
    default boolean[] mask(TensorMerge m, int input, long first, int count, double[] tau) { return null; }

    /**
     * Elements that must be in the same chunk: every slice and step the method sees starts at a multiple of this
     * and holds a whole number of such groups (DELLA: one row, as it ranks |τ| within rows). 1: any split.
     */
    default long rowAlignment(TensorMerge m) { return 1; }

    /** {@code step} rounded down to a multiple of {@code align}, at least one {@code align} (the memory bound grows to one row when a row is longer). */
    static int alignedStep(int step, long align) {
        if (align <= 1) return step;
        if (align > Integer.MAX_VALUE / 2) throw new IllegalArgumentException("a row of " + align + " elements is too long to merge in one chunk");
        return (int) Math.max(align, step / align * align);
    }
}
