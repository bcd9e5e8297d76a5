package io.weightlab.common.merge.adapter;

import io.weightlab.common.merge.DareMask;

import java.util.Arrays;

/**
 * PEFT's {@code peft.utils.merge_utils} over flat double tensors, as {@code add_weighted_adapter} calls them
 * (docs/algorithms.md "Adapter merges"): each input pruned on its own (magnitude: its top ⌊density·n⌋ |values|;
 * random: Bernoulli(density) from (seed, stream, input), divided by density), then a weighted sum, or with TIES the
 * majority sign elected from the pruned, unweighted values ("total": their sum, "frequency": their signs' sum; ≥ 0
 * elects +) and the weighted values agreeing with it summed and divided by how many agree (at least 1).
 */
public final class PeftMergeFunctions {
    public enum Prune { NONE, MAGNITUDE, RANDOM }

    /** One of PEFT's merge functions with its parameters: task_arithmetic, ties, dare_linear, dare_ties, magnitude_prune. */
    public record Spec(Prune prune, boolean ties, boolean byFrequency, double density) implements java.io.Serializable {
        /** Whether it changes values elementwise beyond a weighted sum (then ΔW must be formed to apply it). */
        public boolean elementwise() { return prune != Prune.NONE || ties; }

        public double[] merge(double[][] tasks, double[] weights, long seed, String stream) {
            return PeftMergeFunctions.merge(tasks, weights, prune, ties, byFrequency, density, seed, stream);
        }
    }

    private PeftMergeFunctions() {}

    /**
     * The merged tensor. {@code tasks[i]} may be overwritten; {@code stream} names the random masks' stream
     * (module and factor), so a re-run draws the same ones.
     */
    public static double[] merge(double[][] tasks, double[] weights, Prune prune, boolean ties, boolean majorityByFrequency,
                                 double density, long seed, String stream) {
        int n = tasks[0].length;
        for (int i = 0; i < tasks.length; i++) prune(tasks[i], prune, density, seed, stream, i);
        double[] out = new double[n];
        if (!ties) {
            for (int i = 0; i < tasks.length; i++) {
                double w = weights[i];
                double[] t = tasks[i];
                for (int e = 0; e < n; e++) out[e] += t[e] * w;
            }
            return out;
        }
        for (int e = 0; e < n; e++) {
            double mag = 0;
            for (double[] t : tasks) mag += majorityByFrequency ? Math.signum(t[e]) : t[e];
            double elected = mag >= 0 ? 1 : -1;
            double sum = 0;
            int agree = 0;
            for (int i = 0; i < tasks.length; i++) {
                if (Math.signum(tasks[i][e]) != elected) continue;
                sum += tasks[i][e] * weights[i];
                agree++;
            }
            out[e] = sum / Math.max(agree, 1);
        }
        return out;
    }

    /** PEFT's prune(): nothing at density ≥ 1, else magnitude top-k or random drop with rescale, in place. */
    static void prune(double[] t, Prune prune, double density, long seed, String stream, int input) {
        if (prune == Prune.NONE || density >= 1) return;
        if (prune == Prune.MAGNITUDE) {
            keepLargest(t, (long) (density * t.length));
            return;
        }
        boolean[] keep = DareMask.draw(seed, stream, input, density, 0, t.length);
        for (int e = 0; e < t.length; e++) t[e] = keep[e] ? t[e] / density : 0;
    }

    /** Zeroes all but the k largest |t| (torch.topk; equal magnitudes at the cut kept in index order). */
    static void keepLargest(double[] t, long k) {
        int n = t.length;
        if (k >= n) return;
        if (k <= 0) {
            Arrays.fill(t, 0);
            return;
        }
        double[] mags = new double[n];
        for (int e = 0; e < n; e++) mags[e] = Math.abs(t[e]);
        double[] sorted = mags.clone();
        Arrays.sort(sorted);
        double cut = sorted[(int) (n - k)];
        long above = 0;
        for (double m : mags) if (m > cut) above++;
        long equalKept = k - above;
        for (int e = 0; e < n; e++) {
            if (mags[e] > cut) continue;
            if (mags[e] == cut && equalKept > 0) {
                equalKept--;
                continue;
            }
            t[e] = 0;
        }
    }
}
