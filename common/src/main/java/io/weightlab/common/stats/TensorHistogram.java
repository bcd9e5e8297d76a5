package io.weightlab.common.stats;

import java.io.Serializable;

/** A binned view of one tensor's values (from its quantile summary) with its fits, for the report's plot. */
public record TensorHistogram(String tensor, double[] edges, long[] counts, GgFit fit, double std, boolean exact) implements Serializable {

    public TensorHistogram(String tensor, double[] edges, long[] counts, GgFit fit, double std) {
        this(tensor, edges, counts, fit, std, false);
    }

    /** Equal-width bins between the 0.1 % and 99.9 % quantiles. */
    public static TensorHistogram of(String tensor, TensorPartial p, GgFit fit, int bins) {
        double[] q = p.quantiles().quantiles(new double[] {0.001, 0.999});
        double lo = q[0], hi = q[1];
        if (!(hi > lo)) {
            lo -= 0.5;
            hi += 0.5;
        }
        double[] edges = new double[bins + 1];
        for (int i = 0; i <= bins; i++) edges[i] = lo + (hi - lo) * i / bins;
        long[] counts = new long[bins];
        double[] values = p.quantiles().bucketValues();
        long[] c = p.quantiles().countsView();
        for (int i = 0; i < values.length; i++) {
            if (c[i] == 0 || !(values[i] >= lo && values[i] <= hi)) continue;
            int b = (int) Math.min(bins - 1, Math.floor((values[i] - lo) / (hi - lo) * bins));
            counts[b] += c[i];
        }
        return new TensorHistogram(tensor, edges, counts, fit, p.moments().stdPopulation(), p.quantiles().isExact());
    }
}
