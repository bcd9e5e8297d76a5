package io.weightlab.common.lora;

import io.weightlab.common.linalg.Lapack;

import java.io.IOException;

/**
 * extract-lora's factorisation of a tall ΔW (rows ≥ cols: an embedding or the LM head, the vocabulary long) without
 * holding it (docs/algorithms.md §33): pass 1 sums G = ΔWᵀΔW (cols × cols) over row slices, G = V·diag(σ²)·Vᵀ by
 * dsyevd; pass 2 projects each slice on the top k vectors, P = ΔW·V_k = U_k·diag(σ), and measures the residual
 * ‖ΔW − P·V_kᵀ‖ directly. Memory: about 3·cols² doubles (G and its eigenvectors), two row slices and rows × k floats,
 * whatever the vocabulary. Squaring loses the singular values below √(cols·ε_mach)·σ₁; they count as zero.
 */
public final class GramDeltaExtraction {
    /** ΔW rows [first, first + count), row-major, in double. */
    public interface Rows {
        double[] read(long first, int count) throws IOException;
    }

    private static final double EPS = Math.ulp(1.0);

    private GramDeltaExtraction() {}

    /**
     * {@code transposed}: the adapter factors ΔWᵀ (PEFT's embedding, in = rows), else ΔW itself (a Linear, out = rows).
     * {@code sliceRows}: rows read at a time. Same cut as {@link DeltaExtraction}: k = min(r, #{σ > ε}), then energy.
     */
    public static DeltaExtraction.Result extract(Rows rows, long nRows, int cols, int r, double energy, double epsilon,
                                                 boolean transposed, int sliceRows) throws IOException {
        int height = Math.toIntExact(nRows);
        double total = 0;
        double[] gram;
        try (Lapack.GramAccumulator acc = new Lapack.GramAccumulator(cols)) {
            for (long first = 0; first < nRows; first += sliceRows) {
                int count = (int) Math.min(sliceRows, nRows - first);
                double[] d = rows.read(first, count);
                for (double v : d) total += v * v;
                acc.add(d, count);
            }
            gram = acc.toArray();
        }
        if (total == 0) return new DeltaExtraction.Result(null, 0, 0, 0, 0, 0);
        Lapack.Eigen eigen = Lapack.symmetricEigen(gram, cols);
        gram = null;
        double[] s = new double[cols];
        for (int i = 0; i < cols; i++) s[i] = Math.sqrt(Math.max(0, eigen.values()[i]));
        double floor = Math.max(epsilon, s[0] * Math.sqrt(cols * EPS));
        int k = 0;
        while (k < Math.min(r, Math.min(cols, height)) && s[k] > floor) k++;
        if (k == 0) return new DeltaExtraction.Result(null, 0, Math.sqrt(total), 1, s[0], 0);
        if (energy < 1) k = Math.min(k, EnergyRanks.rankFor(s, energy));
        double[] vk = java.util.Arrays.copyOf(eigen.vectors(), k * cols);  // rows of V_kᵀ
        eigen = null;

        // P = ΔW·V_k row slice by row slice; L = P·diag(1/√σ) = U_k·diag(√σ) kept as float, the residual summed exactly
        float[] left = new float[Math.multiplyExact(height, k)];
        double residual = 0;
        for (long first = 0; first < nRows; first += sliceRows) {
            int count = (int) Math.min(sliceRows, nRows - first);
            double[] d = rows.read(first, count);
            double[] p = Lapack.multiply(d, false, vk, true, count, k, cols);
            double[] back = Lapack.multiply(p, false, vk, false, count, cols, k);
            for (int i = 0; i < d.length; i++) {
                double e = d[i] - back[i];
                residual += e * e;
            }
            for (int i = 0; i < count; i++) {
                for (int t = 0; t < k; t++) left[(int) (first + i) * k + t] = (float) (p[i * k + t] / Math.sqrt(s[t]));
            }
        }
        // R = diag(√σ)·V_kᵀ (k × cols)
        float[] right = new float[k * cols];
        for (int t = 0; t < k; t++) for (int j = 0; j < cols; j++) right[t * cols + j] = (float) (Math.sqrt(s[t]) * vk[t * cols + j]);
        String note = String.format(java.util.Locale.ROOT, "rank %d of %d (Gram route), sigma_1=%.6g sigma_k=%.6g", k, cols, s[0], s[k - 1]);
        LoraFactors factors;
        if (transposed) {
            // ΔWᵀ ≈ Rᵀ·Lᵀ: A = Lᵀ [k, rows], B = Rᵀ [cols, k]
            float[] a = new float[left.length], b = new float[right.length];
            for (int i = 0; i < height; i++) for (int t = 0; t < k; t++) a[t * height + i] = left[i * k + t];
            for (int t = 0; t < k; t++) for (int j = 0; j < cols; j++) b[j * k + t] = right[t * cols + j];
            factors = new LoraFactors(a, b, k, height, cols, false, note);
        } else {
            factors = new LoraFactors(right, left, k, cols, height, false, note);
        }
        return new DeltaExtraction.Result(factors, k, Math.sqrt(total), Math.sqrt(residual / total), s[0], s[k - 1]);
    }
}
