package io.weightlab.common.transform.methods;

import io.weightlab.common.transform.ConstantAction;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.OrthogonalAction;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;
import io.weightlab.common.error.UsageException;

/**
 * {@code orthogonal}: torch.nn.init.orthogonal_ (W Wᵀ = gain²·I for a wide matrix, Wᵀ W = gain²·I for a tall
 * one), also the orthonormal pre-init of LSUV. The QR runs on one executor over the whole matrix, so matrices
 * above {@code max_elements} (default 2^27, 1 GiB of doubles) are refused rather than swapped.
 */
public final class OrthogonalInit implements WeightMethod {
    private final double gain;
    private final long maxElements;

    public OrthogonalInit(MethodParams p) {
        this.gain = p.positive("gain", 1.0);
        this.maxElements = (long) p.positive("max_elements", 1L << 27);
    }

    @Override
    public TransformPlan plan(TensorContext c) {
        if (c.isBias()) return TransformPlan.of(new ConstantAction(0.0), "bias zeroed");
        if (!c.isMatrixWeight()) return TransformPlan.keep("not a matrix weight: norms, buffers and 1-D parameters are not re-initialised");
        long rows = c.info().rows(), cols = c.info().rowElements();
        if (rows * cols > maxElements) {
            throw new UsageException("orthogonal: '" + c.tensor() + "' " + c.info().shapeString() + " has " + rows * cols
                    + " elements, more than max_elements=" + maxElements + " for a whole-matrix QR on one executor");
        }
        return TransformPlan.of(new OrthogonalAction(c.seed(), c.tensor(), gain, (int) rows, (int) cols), "orthogonal, gain " + gain);
    }
}
