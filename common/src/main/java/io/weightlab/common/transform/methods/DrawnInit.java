package io.weightlab.common.transform.methods;

import io.weightlab.common.transform.ConstantAction;
import io.weightlab.common.transform.DrawnAction;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Sampler;
import io.weightlab.common.transform.StdRule;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;
import io.weightlab.common.model.ModuleKind;

/**
 * Re-initialisation by drawing from a distribution whose std a {@link StdRule} sets, as Hugging Face's
 * {@code _init_weights} does: matrix weights and embeddings are drawn, biases zeroed, norms and buffers kept;
 * the {@code padding_idx} row of a token embedding is zeroed.
 */
public abstract class DrawnInit implements WeightMethod {
    protected final StdRule std;
    private final long paddingIdx;

    protected DrawnInit(MethodParams p, String defaultStd) {
        this.std = StdRule.from(p, defaultStd);
        this.paddingIdx = (long) p.number("padding_idx", -1);
    }

    /** The distribution with standard deviation {@code std} for this tensor. */
    protected abstract Sampler sampler(double std, TensorContext c);

    @Override
    public TransformPlan plan(TensorContext c) {
        if (c.isBias()) return TransformPlan.of(new ConstantAction(0.0), "bias zeroed");
        if (!c.isMatrixWeight()) return TransformPlan.keep("not a matrix weight: norms, buffers and 1-D parameters are not re-initialised");
        double s = std.std(c);
        long[] zero = paddingIdx >= 0 && c.name().kind() == ModuleKind.EMBEDDING && paddingIdx < c.info().rows()
                ? new long[] {paddingIdx} : new long[0];
        return TransformPlan.of(new DrawnAction(c.seed(), c.tensor(), sampler(s, c), Math.max(1, c.info().rowElements()), zero),
                "std " + std.describe() + " = " + s);
    }
}
