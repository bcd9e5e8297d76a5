package io.weightlab.jobs.analysis;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.linalg.CorrelationTraps;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.MarchenkoPastur;
import io.weightlab.common.model.TensorInfo;

import java.util.Map;

/** The spectrum table's random-matrix columns (docs/algorithms.md, "Random-matrix metrics"; docs/schema.md). */
final class RandomMatrixColumns {
    private RandomMatrixColumns() {}

    /**
     * On the driver, for every analysed matrix whose spectrum is complete (exact and Gram routes): the MP fit of its
     * bulk. A top-k spectrum has no median, so no fit; its {@code mp_status} says why.
     */
    static void addBulkFit(SpectrumJob.MatrixResult r, boolean randomize) {
        if (!r.status().equals("ok")) return;
        if (randomize && !r.row().containsKey("traps_status")) {
            r.row().put("traps_status", r.row().containsKey("traps") ? "ok"
                    : "not computed: the " + r.row().get("method") + " route does not factorize the whole matrix on one executor");
        }
        int slices = ((Number) r.row().getOrDefault("conv2d_slices", 1)).intValue();
        if (slices > 1) {
            r.row().put("mp_status", "not fitted: a Conv2D kernel's ESD pools " + slices + " slices (the MP law is one matrix's)");
            return;
        }
        int rows = ((Number) r.row().get("rows")).intValue(), cols = ((Number) r.row().get("cols")).intValue();
        if (r.singularValues().length != Math.min(rows, cols)) {
            r.row().put("mp_status", "not fitted: " + r.singularValues().length + " of " + Math.min(rows, cols)
                    + " singular values (the MP fit needs the whole spectrum)");
            return;
        }
        r.row().put("mp_status", "ok");
        r.row().putAll(MarchenkoPastur.fit(r.singularValues(), rows, cols).columns("mp_"));
    }

    /** On the executor that holds the matrix: its elements permuted, factorized by the same LAPACK call, the traps. */
    static Map<String, Object> traps(TensorInfo t, double[] a, double[] sv, int rows, int cols, long seed) {
        double[] shuffled = CorrelationTraps.permuted(a, CorrelationTraps.seedFor(seed, t.name()));
        try {
            return CorrelationTraps.of(sv, Lapack.singularValues(shuffled, rows, cols), rows, cols).columns();
        } catch (WeightLabException e) {
            throw new WeightLabException(t.file() + ": tensor '" + t.name() + "' (elements permuted for --randomize): " + e.getMessage(), e);
        }
    }
}
