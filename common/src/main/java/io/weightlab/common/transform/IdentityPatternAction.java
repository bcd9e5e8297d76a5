package io.weightlab.common.transform;

/**
 * IDInit's padded identity for a [rows, cols] matrix: W_ij = value when i ≡ j (mod min(rows, cols)), else 0,
 * i.e. identities stacked vertically (rows > cols) or side by side (rows < cols) (docs/algorithms.md §6.2).
 */
public record IdentityPatternAction(double value, long rows, long cols) implements TensorAction {
    @Override public boolean needsInput() { return false; }

    @Override
    public void apply(long first, double[] values, int count) {
        long m = Math.min(rows, cols);
        for (int k = 0; k < count; k++) {
            long e = first + k;
            long i = e / cols, j = e % cols;
            values[k] = (i % m) == (j % m) ? value : 0.0;
        }
    }

    @Override
    public String describe() { return Samplers.fmt("padded identity x %s", value); }
}
