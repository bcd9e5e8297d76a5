package io.weightlab.common.fed;

import io.weightlab.common.transform.TensorAction;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;

/**
 * One output of a server optimiser step for one tensor, element range by element range: the aggregate y (from the
 * computed slices), the previous global x and the previous state m, v (zeros when absent) are read at the same
 * positions and {@link ServerOptimizer#step} gives x', m' or v', whichever this action writes. The three outputs
 * (model, m, v) are three writes of the same deterministic computation.
 */
public final class ServerStepAction implements TensorAction {
    private static final long serialVersionUID = 1L;

    public enum Output { MODEL, M, V }

    private final StagedSliceAction aggregate;
    private final TensorInfo x, m, v;
    private final ServerOptimizer optimizer;
    private final int step;
    private final Output output;
    private transient RangeReader reader;

    public ServerStepAction(StagedSliceAction aggregate, TensorInfo x, TensorInfo m, TensorInfo v, ServerOptimizer optimizer, int step, Output output) {
        this.aggregate = aggregate;
        this.x = x;
        this.m = m;
        this.v = v;
        this.optimizer = optimizer;
        this.step = step;
        this.output = output;
    }

    @Override public boolean needsInput() { return false; }

    @Override
    public void open(RangeReader r) {
        reader = r;
        aggregate.open(r);
    }

    @Override
    public void release() {
        reader = null;
        aggregate.release();
    }

    @Override
    public void apply(long first, double[] values, int count) {
        double[] y = new double[count];
        aggregate.apply(first, y, count);
        double[] xs = TensorValues.read(reader, x, first, first + count, null);
        double[] ms = m == null ? new double[count] : TensorValues.read(reader, m, first, first + count, null);
        double[] vs = v == null ? new double[count] : TensorValues.read(reader, v, first, first + count, null);
        double[] xo = new double[count], mo = new double[count], vo = new double[count];
        optimizer.step(xs, y, ms, vs, count, step, xo, mo, vo);
        System.arraycopy(output == Output.MODEL ? xo : output == Output.M ? mo : vo, 0, values, 0, count);
    }

    @Override
    public String describe() { return optimizer.describe() + " step " + step + (output == Output.MODEL ? "" : ", state " + output.name().toLowerCase()); }
}
