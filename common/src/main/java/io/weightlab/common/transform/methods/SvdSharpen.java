package io.weightlab.common.transform.methods;

import io.weightlab.common.linalg.SpectralEdit;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;

/**
 * {@code svd-sharpen}: WeightWatcher's SVDSharpness, W' = W − U_k S_k V_kᵀ per 2-D matrix weight (docs/algorithms.md
 * §34), k by {@code remove=traps} (default: the MP spikes of W's elements permuted, seeded from --seed and the tensor
 * name), {@code mp-spikes} (W's own spikes) or {@code topk} (k=).
 */
public final class SvdSharpen implements WeightMethod {
    private final SvdEditPlan plan;

    public SvdSharpen(MethodParams p) {
        this.plan = new SvdEditPlan(p, SpectralEdit.Mode.REMOVE_TOP, "remove", "traps");
    }

    @Override public boolean needsMoments(TensorContext c) { return plan.edits(c); }

    @Override public TransformPlan plan(TensorContext c) { return plan.plan(c); }
}
