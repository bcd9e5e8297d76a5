package io.weightlab.common.transform.methods;

import io.weightlab.common.transform.AffineAction;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.stats.MomentAccumulator;

/** The z-score rescale shared by the rescalers: W ← (W − μ)/σ · σ* + μ with σ = std(W, ddof=1), in double. */
final class StdRescale {
    private StdRescale() {}

    /** The measured (μ, σ) of a tensor, refusing NaN/Inf (a rescale would spread them) and naming the tensor. */
    static double[] meanStd(String method, TensorContext c) {
        MomentAccumulator m = c.moments();
        if (m == null) throw new IllegalStateException(method + ": moments of " + c.tensor() + " were not measured");
        if (m.nonFiniteCount() > 0) {
            throw new UsageException(method + ": '" + c.tensor() + "' in " + c.info().file() + " holds " + m.nonFiniteCount()
                    + " NaN/Inf value(s); rescaling needs finite weights (rule: FiniteValues)");
        }
        return new double[] {m.mean(), m.stdSample()};
    }

    static TransformPlan toStd(double mean, double std, double target, String why, boolean zeroesBias) {
        double scale = target / std;
        return new TransformPlan(new AffineAction(scale, mean * (1 - scale)), why, zeroesBias);
    }
}
