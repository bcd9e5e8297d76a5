package io.weightlab.common.linalg;

import java.util.Arrays;

/**
 * WeightWatcher's {@code fix_fingers} (docs/algorithms.md §7.6): a few very large eigenvalues ("fingers") can pull
 * the KS-optimal x_min, and with it α, far from the bulk of the tail.
 */
public final class FingerFixes {
    /** WeightWatcher's defaults: max_fingers = 10 (it resets any value below n/2 to 10), finger_thresh = 1. */
    public static final int MAX_FINGERS = 10;
    public static final double FINGER_THRESH = 1.0;

    private FingerFixes() {}

    /**
     * xmin_peak: the x_min search range around the mode of the log-ESD. peak = 10^(left edge of the tallest of 100
     * equal bins of log₁₀ λ, numpy's histogram); the range is (log₁₀(0.95·peak), 1.5·peak): WeightWatcher passes the
     * lower bound in log units (as coded), which we keep, so the fit matches it. Explicit bounds replace either end.
     * @return {lo, hi, peak}
     */
    public static double[] xminPeakRange(double[] eigenvalues, double xminMin, double xminMax) {
        double[] x = PowerLawFit.sortedTail(eigenvalues);
        if (x.length == 0) return new double[] {Double.NaN, Double.NaN, Double.NaN};
        double peak = Math.pow(10, tallestBinLeftEdge(x));
        double lo = Double.isNaN(xminMin) ? Math.log10(0.95 * peak) : xminMin;
        double hi = Double.isNaN(xminMax) ? 1.5 * peak : xminMax;
        return new double[] {lo, hi, peak};
    }

    /** numpy.histogram(log10(x), bins=100): the left edge of the first bin with the highest count (x ascending). */
    static double tallestBinLeftEdge(double[] ascending) {
        int bins = 100;
        double first = Math.log10(ascending[0]), last = Math.log10(ascending[ascending.length - 1]);
        if (first == last) { // numpy widens a zero range by 0.5 each side
            first -= 0.5;
            last += 0.5;
        }
        double[] edges = new double[bins + 1];
        double step = (last - first) / bins;
        for (int k = 0; k <= bins; k++) edges[k] = first + k * step;
        edges[bins] = last;
        int[] count = new int[bins];
        for (double v : ascending) {
            double t = Math.log10(v);
            int b = (int) ((t - first) / (last - first) * bins);
            if (b >= bins) b = bins - 1;
            if (b > 0 && t < edges[b]) b--;
            else if (b < bins - 1 && t >= edges[b + 1]) b++;
            count[b]++;
        }
        int best = 0;
        for (int k = 1; k < bins; k++) if (count[k] > count[best]) best = k;
        return edges[best];
    }

    /** clip_xmax's outcome: the accepted fit, the fingers dropped (as WeightWatcher counts them) and α before. */
    public record Clipped(PowerLawFit fit, int numFingers, double rawAlpha) {}

    /**
     * clip_xmax: fit all λ, then for idx = 2 … max_fingers − 1 refit without the idx largest; accept the first refit
     * with α_idx + finger_thresh &lt; α_raw (num_fingers = idx − 1, as WeightWatcher codes it) and give up at the first
     * α_idx ≤ 2. {@code num_pl_spikes} of an accepted refit still counts the dropped values (λ ≥ x_min).
     */
    /** @param lo @param hi x_min bounds, NaN for open */
    public static Clipped clipXmax(double[] eigenvalues, double lo, double hi) {
        double[] x = PowerLawFit.sortedTail(eigenvalues);
        PowerLawFit raw = PowerLawFit.fitBounded(x, lo, hi);
        for (int idx = 2; idx < MAX_FINGERS && idx < x.length - 1; idx++) {
            PowerLawFit f = PowerLawFit.fitBounded(Arrays.copyOf(x, x.length - idx), lo, hi);
            if (f.alpha() > 0 && f.alpha() + FINGER_THRESH < raw.alpha()) {
                PowerLawFit counted = new PowerLawFit(f.alpha(), f.xmin(), f.d(), f.sigma(), f.numSpikes() + idx, f.pairsVisited());
                return new Clipped(counted, idx - 1, raw.alpha());
            }
            if (f.alpha() <= 2) break;
        }
        return new Clipped(raw, 0, raw.alpha());
    }
}
