package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;

/**
 * {@code tvr}, Target Variance Rescaling (docs/algorithms.md §1.2), as the weight_rescaling reference applies it once:
 * each 2-D weight inside block l with std(ddof=1) above ratio_threshold·σ*_l is brought to σ*_l
 * (σ*_l = target_std, divided by √l when scale_with_depth), keeping its mean; the module's bias is then zeroed.
 * Only shrinks; constant tensors and weights outside the blocks are left alone.
 */
public final class TvrRescaler implements WeightMethod {
    private final double targetStd;
    private final double ratioThreshold;
    private final boolean scaleWithDepth;

    public TvrRescaler(MethodParams p) {
        this.targetStd = p.positive("target_std", 0.02);
        this.ratioThreshold = p.positive("ratio_threshold", 1.2);
        this.scaleWithDepth = p.flag("scale_with_depth", false);
    }

    private boolean applies(TensorContext c) {
        return c.isMatrixWeight() && c.info().rank() == 2 && c.depth() != null;
    }

    @Override
    public boolean needsMoments(TensorContext c) { return applies(c); }

    @Override
    public TransformPlan plan(TensorContext c) {
        if (!applies(c)) return TransformPlan.keep("TVR rescales 2-D weights inside the blocks only");
        double[] ms = StdRescale.meanStd("tvr", c);
        double target = scaleWithDepth ? targetStd / Math.sqrt(c.depth()) : targetStd;
        if (!(ms[1] > 0)) return TransformPlan.keep("constant tensor (std 0): nothing to rescale");
        double ratio = ms[1] / target;
        if (ratio <= ratioThreshold) {
            return TransformPlan.keep(Samplers.fmt("std %s is %s x the target %s, not above %s", ms[1], ratio, target, ratioThreshold));
        }
        return StdRescale.toStd(ms[0], ms[1], target, Samplers.fmt("std %s -> %s (ratio %s > %s), mean %s kept", ms[1], target, ratio, ratioThreshold, ms[0]), true);
    }
}
