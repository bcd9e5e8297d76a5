package io.weightlab.common.linalg;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Correlation traps (docs/algorithms.md, "Random-matrix metrics"; WeightWatcher's {@code randomize=True}): the
 * matrix's elements permuted at random destroy every correlation, so the permuted matrix's ESD is a Marchenko–Pastur
 * bulk unless single large elements survive the shuffle as spikes, the traps. {@code rand_distance} is the
 * Jensen–Shannon distance between the two ESDs, log-binned.
 */
public record CorrelationTraps(MarchenkoPastur randomFit, int traps, double largest, double randDistance) {

    /** The permutation's seed: reproducible from (seed, tensor name), independent of the randomized SVD's. */
    public static long seedFor(long seed, String tensorName) {
        return RandomizedSvd.seedFor(seed, "permute " + tensorName);
    }

    /** The elements of {@code a} in a uniformly random order (Fisher–Yates), a new array. */
    public static double[] permuted(double[] a, long seed) {
        double[] p = a.clone();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = p.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            double t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** @param sv the matrix's singular values, {@code randSv} the permuted matrix's (all min(rows, cols) of each) */
    public static CorrelationTraps of(double[] sv, double[] randSv, int rows, int cols) {
        MarchenkoPastur fit = MarchenkoPastur.fit(randSv, rows, cols);
        double largest = Double.NaN;
        for (double s : randSv) if (s * s > fit.threshold() && !(s * s <= largest)) largest = s * s;
        return new CorrelationTraps(fit, fit.numSpikes(), largest, randDistance(sv, randSv));
    }

    public Map<String, Object> columns() {
        Map<String, Object> c = new LinkedHashMap<>(randomFit.columns("rand_mp_"));
        c.put("traps", traps);
        c.put("trap_largest", largest);
        c.put("rand_distance", randDistance);
        return c;
    }

    /**
     * Jensen–Shannon distance (natural log, so in [0, √ln 2]) between the histograms of log10 λ of the two ESDs,
     * λ = s². Shared bins: ⌈M^{1/3}⌉ equal widths from the pooled 1% quantile of λ to the largest λ; values below
     * the lower end (zeros too) count in the first bin. Few wide bins keep the distance of two ESDs of the same law
     * small: their eigenvalues jitter across bin edges, which many narrow bins would count as a difference.
     */
    public static double randDistance(double[] sv, double[] randSv) {
        int m = sv.length;
        double[] pooled = new double[2 * m];
        for (int i = 0; i < m; i++) {
            pooled[i] = sv[i] * sv[i];
            pooled[m + i] = randSv[i] * randSv[i];
        }
        Arrays.sort(pooled);
        double hi = pooled[2 * m - 1];
        if (!(hi > 0)) return 0;
        double lo = Math.max(quantile(pooled, 0.01), hi * 1e-12);
        int bins = (int) Math.ceil(Math.cbrt(m) - 1e-9);
        double[] p = histogram(sv, lo, hi, bins), q = histogram(randSv, lo, hi, bins);
        double js = 0;
        for (int b = 0; b < bins; b++) {
            double mid = 0.5 * (p[b] + q[b]);
            if (p[b] > 0) js += 0.5 * p[b] * Math.log(p[b] / mid);
            if (q[b] > 0) js += 0.5 * q[b] * Math.log(q[b] / mid);
        }
        return Math.sqrt(Math.max(0, js));
    }

    /** numpy's default (linear) quantile of sorted values. */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int i = (int) Math.floor(pos);
        if (i >= sorted.length - 1) return sorted[sorted.length - 1];
        return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
    }

    private static double[] histogram(double[] sv, double lo, double hi, int bins) {
        double[] h = new double[bins];
        double e0 = Math.log10(lo), e1 = Math.log10(hi);
        for (double s : sv) {
            double x = Math.log10(Math.max(s * s, lo));
            int b = e1 > e0 ? (int) Math.floor((x - e0) / (e1 - e0) * bins) : 0;
            h[Math.min(bins - 1, Math.max(0, b))] += 1.0 / sv.length;
        }
        return h;
    }
}
