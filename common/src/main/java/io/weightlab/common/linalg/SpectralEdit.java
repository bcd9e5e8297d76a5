package io.weightlab.common.linalg;

import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Spectral editing of one matrix (docs/algorithms.md §34), WeightWatcher's SVDSmoothing and SVDSharpness: the thin
 * SVD W = U diag(σ) Vᵀ by LAPACK dgesdd in double, k chosen from the spectrum, then the top k singular triplets
 * kept (W' = U_k S_k V_kᵀ) or removed (W' = W − U_k S_k V_kᵀ). k = 0 leaves W as it is, as WeightWatcher does.
 */
public final class SpectralEdit {
    private SpectralEdit() {}

    /** What happens to the top k triplets. */
    public enum Mode { KEEP_TOP, REMOVE_TOP }

    /** How k is chosen: a number, a fraction of the rank, or a count of Marchenko–Pastur spikes. */
    public enum By {
        TOPK("topk"), FRACTION("fraction"), MP_SPIKES("mp-spikes"), TRAPS("traps");

        public final String label;

        By(String label) { this.label = label; }

        public static By of(String label) {
            for (By b : values()) if (b.label.equals(label)) return b;
            throw new IllegalArgumentException("no selection '" + label + "'");
        }
    }

    /**
     * The choice of k: {@code k} for TOPK (clamped to the rank), ⌊fraction·rank⌋ for FRACTION, the spikes of W's MP fit
     * for MP_SPIKES, the spikes of the MP fit of W's elements permuted with {@code permutationSeed} for TRAPS.
     */
    public record Selection(By by, int k, double fraction, long permutationSeed) implements Serializable {}

    /**
     * The edited matrix (row-major, W's shape) and what was done: {@code k} the triplets the selection gave (clamped to
     * the rank), {@code kept} and {@code removed} the triplets left in and taken out, {@code energyRemoved} their share
     * Σ_removed σ² / Σσ², {@code detected} the spike or trap count when the selection counted one (else -1).
     */
    public record Result(double[] matrix, int rank, int k, int kept, int removed, double energyRemoved, int detected) {
        /** The provenance fields (docs/schema.md, rescale's {@code tensors[].svd}). */
        public Map<String, Object> facts(By by) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("selected_by", by.label);
            if (by == By.MP_SPIKES) f.put("mp_num_spikes", detected);
            if (by == By.TRAPS) f.put("traps", detected);
            f.put("rank", rank);
            f.put("k", k);
            f.put("k_kept", kept);
            f.put("k_removed", removed);
            f.put("energy_removed", energyRemoved);
            return f;
        }
    }

    /** Edits the row-major {@code rows x cols} matrix {@code w} (not modified). */
    public static Result apply(double[] w, int rows, int cols, Mode mode, Selection sel) {
        Lapack.Factors f = Lapack.svd(w, rows, cols);
        double[] s = f.s();
        int rank = s.length;
        int detected = -1, k;
        switch (sel.by()) {
            case TOPK -> k = Math.min(sel.k(), rank);
            case FRACTION -> k = (int) (sel.fraction() * rank); // WeightWatcher's int(percent·M), the same IEEE product
            case MP_SPIKES -> k = detected = MarchenkoPastur.fit(s, rows, cols).numSpikes();
            case TRAPS -> {
                double[] permuted = CorrelationTraps.permuted(w, sel.permutationSeed());
                k = detected = MarchenkoPastur.fit(Lapack.singularValues(permuted, rows, cols), rows, cols).numSpikes();
            }
            default -> throw new IllegalStateException(sel.by().toString());
        }
        // k = 0 edits nothing; keeping every triplet edits nothing either
        boolean unchanged = k == 0 || (mode == Mode.KEEP_TOP && k >= rank);
        if (unchanged) return new Result(w.clone(), rank, k, rank, 0, 0.0, detected);
        double[] top = topPart(f, k);
        double[] out;
        if (mode == Mode.KEEP_TOP) {
            out = top;
        } else {
            out = w.clone();
            for (int i = 0; i < out.length; i++) out[i] -= top[i];
        }
        boolean keep = mode == Mode.KEEP_TOP;
        // the removed triplets: the tail i ≥ k when keeping the top, the head i < k when removing it
        double removedEnergy = keep ? energy(s, k, rank) : energy(s, 0, k);
        double total = energy(s, 0, rank);
        return new Result(out, rank, k, keep ? k : rank - k, keep ? rank - k : k, total > 0 ? removedEnergy / total : 0.0, detected);
    }

    /** U_k diag(σ_1..k) V_kᵀ, row-major rows x cols (dgemm of the scaled first k columns of U by the first k rows of Vᵀ). */
    static double[] topPart(Lapack.Factors f, int k) {
        int rows = f.rows(), cols = f.cols(), rank = f.k();
        double[] us = new double[rows * k];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < k; j++) us[i * k + j] = f.u()[i * rank + j] * f.s()[j];
        }
        return Lapack.multiply(us, false, Arrays.copyOf(f.vt(), k * cols), false, rows, cols, k);
    }

    /** Σ σᵢ² over [from, to), summed from the smallest up so the small terms of a tail are not lost. */
    static double energy(double[] s, int from, int to) {
        double e = 0;
        for (int i = to - 1; i >= from; i--) e += s[i] * s[i];
        return e;
    }
}
