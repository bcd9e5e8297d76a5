package io.weightlab.common.transform.methods;

import io.weightlab.common.linalg.SpectralEdit;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;

/**
 * {@code svd-smooth}: WeightWatcher's SVDSmoothing, W' = U_k S_k V_kᵀ per 2-D matrix weight (docs/algorithms.md
 * §34), k by {@code keep=mp-spikes} (default: the eigenvalues above the Marchenko–Pastur edge), {@code topk} (k=) or
 * {@code fraction} (fraction=, ⌊fraction·rank⌋).
 */
public final class SvdSmooth implements WeightMethod {
    private final SvdEditPlan plan;

    public SvdSmooth(MethodParams p) {
        this.plan = new SvdEditPlan(p, SpectralEdit.Mode.KEEP_TOP, "keep", "mp-spikes");
    }

    @Override public boolean needsMoments(TensorContext c) { return plan.edits(c); }

    @Override public TransformPlan plan(TensorContext c) { return plan.plan(c); }
}
