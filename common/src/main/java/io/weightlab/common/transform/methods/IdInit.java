package io.weightlab.common.transform.methods;

import io.weightlab.common.transform.ConstantAction;
import io.weightlab.common.transform.IdentityPatternAction;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;

/**
 * {@code idinit}: IDInit (docs/algorithms.md §6.2): every matrix weight becomes τ times the padded identity; the last
 * projection of each residual branch (attention output, MLP down) gets ε instead (IDIZ, zero-preserving) unless
 * {@code zero_last=false}. Biases zeroed, norms kept.
 */
public final class IdInit implements WeightMethod {
    private final double tau;
    private final double eps;
    private final boolean zeroLast;

    public IdInit(MethodParams p) {
        this.tau = p.number("tau", 1.0);
        this.eps = p.number("eps", 1e-6);
        this.zeroLast = p.flag("zero_last", true);
    }

    @Override
    public TransformPlan plan(TensorContext c) {
        if (c.isBias()) return TransformPlan.of(new ConstantAction(0.0), "bias zeroed");
        if (!c.isMatrixWeight() || c.info().rank() != 2) return TransformPlan.keep("IDInit acts on 2-D weights only");
        boolean last = zeroLast && c.isResidualOutput();
        double v = last ? eps : tau;
        return TransformPlan.of(new IdentityPatternAction(v, c.info().rows(), c.info().rowElements()),
                (last ? "IDIZ (last layer of a residual branch), eps " : "IDI, tau ") + v);
    }
}
