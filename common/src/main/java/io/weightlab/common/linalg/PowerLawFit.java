package io.weightlab.common.linalg;

/**
 * WeightWatcher's power-law fit of the tail of an eigenvalue spectrum (docs/algorithms.md §7.4): for every
 * candidate x_min = x_i (ascending, λ > 1e-5 kept), α_i = 1 + n / (Σ_{j≥i} ln x_j − n ln x_i) and the KS distance
 * D_i = max_j |1 − (x_{i+j}/x_i)^{1−α_i} − j/n|; the fit is the i with the smallest D. Same answer as the
 * exhaustive scan, but α_i comes from suffix sums in O(1) and each D_i's inner loop stops as soon as it
 * exceeds the best D so far, which in practice visits a small fraction of the O(n²) pairs.
 */
public record PowerLawFit(double alpha, double xmin, double d, double sigma, int numSpikes, long pairsVisited) {

    public static final double MIN_EIGENVALUE = 1e-5;

    public static PowerLawFit failed() {
        return new PowerLawFit(-1, Double.NaN, Double.NaN, Double.NaN, 0, 0);
    }

    /** @param eigenvalues λ = σ², any order */
    public static PowerLawFit fit(double[] eigenvalues) {
        double[] x = sortedTail(eigenvalues);
        int[] all = new int[Math.max(0, x.length - 1)];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return scan(x, all);
    }

    /**
     * The fit with x_min searched in [lo, hi] (powerlaw's {@code xmin=(lo, hi)}, which WeightWatcher uses for the
     * finger fixes): candidates are the distinct values in range except the largest of them (§7.6).
     */
    public static PowerLawFit fit(double[] eigenvalues, double lo, double hi) {
        double[] x = sortedTail(eigenvalues);
        return scan(x, rangeCandidates(x, lo, hi));
    }

    /** {@link #fit(double[], double, double)} when either bound is set (NaN: open), else the plain {@link #fit(double[])}. */
    public static PowerLawFit fitBounded(double[] eigenvalues, double lo, double hi) {
        if (Double.isNaN(lo) && Double.isNaN(hi)) return fit(eigenvalues);
        return fit(eigenvalues, Double.isNaN(lo) ? Double.NEGATIVE_INFINITY : lo, Double.isNaN(hi) ? Double.POSITIVE_INFINITY : hi);
    }

    /** α and D at one x_min (the tail λ ≥ xmin), no search. */
    public static PowerLawFit atXmin(double[] eigenvalues, double xmin) {
        double[] x = java.util.Arrays.stream(sortedTail(eigenvalues)).filter(v -> v >= xmin).toArray();
        return scan(x, x.length < 2 ? new int[0] : new int[] {0});
    }

    static double[] sortedTail(double[] eigenvalues) {
        return java.util.Arrays.stream(eigenvalues).filter(v -> v > MIN_EIGENVALUE).sorted().toArray();
    }

    /** Indices (ascending, in sorted x) of the first occurrence of each distinct value in [lo, hi], minus the largest value. */
    static int[] rangeCandidates(double[] x, double lo, double hi) {
        int[] c = new int[x.length];
        int k = 0;
        for (int i = 0; i < x.length; i++) {
            if (x[i] >= lo && x[i] <= hi && (i == 0 || x[i] != x[i - 1])) c[k++] = i;
        }
        return java.util.Arrays.copyOf(c, Math.max(0, k - 1));
    }

    /** The pruned scan over the given candidate indices of ascending x (each with a tail of at least 2). */
    private static PowerLawFit scan(double[] x, int[] candidates) {
        int n = x.length;
        if (n < 2 || candidates.length == 0) return failed();
        double[] logs = new double[n];
        for (int i = 0; i < n; i++) logs[i] = Math.log(x[i]);
        double[] suffix = new double[n + 1];
        for (int i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + logs[i];
        double bestD = Double.POSITIVE_INFINITY, bestAlpha = -1, bestXmin = Double.NaN;
        int bestN = 0;
        long visited = 0;
        for (int i : candidates) {
            int m = n - i;
            double denom = suffix[i] - m * logs[i];
            double alpha = 1 + m / denom;
            double d;
            if (!(alpha > 1) || !Double.isFinite(alpha)) {
                d = 1;
            } else {
                d = 0;
                double e = 1 - alpha;
                for (int j = 0; j < m; j++) {
                    visited++;
                    double diff = Math.abs(1 - Math.exp(e * (logs[i + j] - logs[i])) - (double) j / m);
                    if (diff > d) {
                        d = diff;
                        if (d >= bestD) break;
                    }
                }
            }
            if (d < bestD) {
                bestD = d;
                bestAlpha = alpha;
                bestXmin = x[i];
                bestN = m;
            }
        }
        if (bestAlpha <= 1) return failed();
        return new PowerLawFit(bestAlpha, bestXmin, bestD, (bestAlpha - 1) / Math.sqrt(bestN), bestN, visited);
    }
}
