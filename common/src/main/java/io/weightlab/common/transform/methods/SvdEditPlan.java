package io.weightlab.common.transform.methods;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.CorrelationTraps;
import io.weightlab.common.linalg.SpectralEdit;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.transform.SvdEditAction;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;

/**
 * What svd-smooth and svd-sharpen share: reading k's selection from the parameters, and the per-tensor decision
 * (2-D matrix weights only, a size bound for the whole-matrix SVD on one executor, finite values measured first).
 */
final class SvdEditPlan {
    /** Default bound: the matrix, its copy for dgesdd, U, Vᵀ and the result are about 5 doubles an element, 2.7 GB here. */
    static final long MAX_ELEMENTS = 1L << 26;

    private final String method;
    private final SpectralEdit.Mode mode;
    private final SpectralEdit.By by;
    private final int k;
    private final double fraction;
    private final long maxElements;

    /** @param byParam the parameter naming the selection ("keep" or "remove"), {@code dflt} its default */
    SvdEditPlan(MethodParams p, SpectralEdit.Mode mode, String byParam, String dflt) {
        this.method = p.method();
        this.mode = mode;
        this.by = SpectralEdit.By.of(p.string(byParam, dflt));
        boolean hasK = p.has("k"), hasFraction = p.has("fraction");
        if (by == SpectralEdit.By.TOPK && !hasK) throw new UsageException(method + ": " + byParam + "=topk needs k=<number of singular triplets>");
        if (by == SpectralEdit.By.FRACTION && !hasFraction) throw new UsageException(method + ": " + byParam + "=fraction needs fraction=<share of the rank>");
        if (hasK && by != SpectralEdit.By.TOPK) throw new UsageException(method + ": k is read only with " + byParam + "=topk, not " + by.label);
        if (hasFraction && by != SpectralEdit.By.FRACTION) throw new UsageException(method + ": fraction is read only with " + byParam + "=fraction, not " + by.label);
        this.k = hasK ? (int) p.number("k", 0) : 0;
        this.fraction = hasFraction ? p.number("fraction", 0) : 0;
        this.maxElements = (long) p.positive("max_elements", MAX_ELEMENTS);
    }

    /** Only 2-D matrix weights are edited; their moments are measured to refuse NaN/Inf before anything is written. */
    boolean edits(TensorContext c) {
        return c.isMatrixWeight() && c.info().rank() == 2;
    }

    TransformPlan plan(TensorContext c) {
        if (!c.isMatrixWeight()) return TransformPlan.keep("not a matrix weight: biases, norms, buffers and 1-D parameters are left as stored");
        if (c.info().rank() != 2) return TransformPlan.keep("a " + c.info().rank() + "-D weight: " + method + " edits 2-D matrices only");
        long rows = c.info().dim(0), cols = c.info().dim(1);
        if (rows * cols > Math.min(maxElements, Integer.MAX_VALUE - 8)) { // one Java array holds the matrix
            throw new UsageException(method + ": '" + c.tensor() + "' " + c.info().shapeString() + " has " + rows * cols
                    + " elements, more than max_elements=" + maxElements + " (and at most 2^31 - 9) for a whole-matrix SVD on one executor");
        }
        MomentAccumulator m = c.moments();
        if (m == null) throw new IllegalStateException(method + ": moments of " + c.tensor() + " were not measured");
        if (m.nonFiniteCount() > 0) {
            throw new UsageException(method + ": '" + c.tensor() + "' in " + c.info().file() + " holds " + m.nonFiniteCount()
                    + " NaN/Inf value(s); an SVD of it is meaningless (rule: FiniteValues)");
        }
        long seed = by == SpectralEdit.By.TRAPS ? CorrelationTraps.seedFor(c.seed(), c.tensor()) : 0;
        SpectralEdit.Selection sel = new SpectralEdit.Selection(by, k, fraction, seed);
        return TransformPlan.of(new SvdEditAction(c.info(), mode, sel), why());
    }

    private String why() {
        String verb = mode == SpectralEdit.Mode.KEEP_TOP ? "keep" : "remove";
        return switch (by) {
            case TOPK -> verb + " the top " + k + " singular triplets";
            case FRACTION -> verb + " the top floor(" + fraction + " x rank) singular triplets";
            case MP_SPIKES -> verb + " the singular triplets above the Marchenko-Pastur edge (none found: unchanged)";
            case TRAPS -> verb + " as many top singular triplets as the permuted matrix has MP spikes (traps; none: unchanged)";
        };
    }
}
