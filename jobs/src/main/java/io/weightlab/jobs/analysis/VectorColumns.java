package io.weightlab.jobs.analysis;

import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.VectorLocalization;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The {@code --vectors} columns of a spectrum row (docs/algorithms.md §7.7). */
final class VectorColumns {
    private VectorColumns() {}

    /**
     * A matrix factorized whole: its short-side singular vectors from one more dgesdd (jobz='S'), or --factors' own.
     * Each vector takes the reported eigenvalue of its rank ({@code sv}, which the PL fit saw): the Gram route's
     * values differ from dgesdd's in the last digits, which must not move a vector across xmin.
     */
    static void put(Map<String, Object> row, Lapack.Factors f, double[] sv) {
        List<VectorLocalization.Metrics> vectors = new ArrayList<>(f.k());
        VectorLocalization.addShortSide(f, 1.0, vectors);
        for (int t = 0; t < vectors.size(); t++) {
            VectorLocalization.Metrics m = vectors.get(t);
            vectors.set(t, new VectorLocalization.Metrics(sv[t] * sv[t], m.vecEntropy(), m.locRatio(), m.partRatio()));
        }
        put(row, vectors);
    }

    /** Split at the row's power-law xmin; without one (--no-powerlaw, or a failed fit) every vector is bulk. */
    static void put(Map<String, Object> row, List<VectorLocalization.Metrics> vectors) {
        double xmin = row.get("xmin") instanceof Number x ? x.doubleValue() : Double.NaN;
        boolean split = xmin > 0 && Double.isFinite(xmin);
        row.put("vectors_status", split ? "ok" : "ok, no power-law xmin (--no-powerlaw or a failed fit): every vector in bulk_*");
        row.putAll(VectorLocalization.columns(vectors, xmin));
    }

    /** An analysed row whose route kept no singular vectors (the distributed routes): NaN columns and the reason. */
    static void addMissing(SpectrumJob.MatrixResult r, boolean vectors) {
        if (!vectors || !r.status().equals("ok") || r.row().containsKey("vectors_status")) return;
        r.row().put("vectors_status", "not computed: the " + r.row().get("sv_route")
                + " route never holds the matrix whole on one executor, so it has no singular vectors");
        r.row().putAll(VectorLocalization.missing());
    }
}
