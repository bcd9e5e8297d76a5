package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.ReferenceStats;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.StdRule;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;
import io.weightlab.common.error.UsageException;

/**
 * {@code target-std}: rescale every matching matrix weight to a target std (ddof=1), keeping its mean. The target
 * is a number or rule ({@code std=0.02}, {@code std=xavier}) or another checkpoint's stats.json
 * ({@code from=ref/stats.json}: the same tensor's std, else that of the same layer and module kind).
 */
public final class TargetStdRescaler implements WeightMethod {
    private final StdRule rule;
    private final ReferenceStats reference;

    public TargetStdRescaler(MethodParams p) {
        boolean from = p.has("from"), given = p.has("std");
        if (from == given) throw new UsageException("target-std: give exactly one of std=<value or rule> or from=<stats.json>");
        this.rule = given ? StdRule.from(p, null) : null;
        this.reference = from ? ReferenceStats.parse(p.string("from", null), p.file("from")) : null;
    }

    @Override
    public boolean needsMoments(TensorContext c) { return c.isMatrixWeight(); }

    @Override
    public TransformPlan plan(TensorContext c) {
        if (!c.isMatrixWeight()) return TransformPlan.keep("not a matrix weight");
        double[] ms = StdRescale.meanStd("target-std", c);
        if (!(ms[1] > 0)) return TransformPlan.keep("constant tensor (std 0): nothing to rescale");
        double target = reference != null ? reference.std(c.name()) : rule.std(c);
        return StdRescale.toStd(ms[0], ms[1], target, Samplers.fmt("std %s -> %s (%s), mean %s kept", ms[1], target,
                reference != null ? "from " + reference.source() : rule.describe(), ms[0]), false);
    }
}
