package io.weightlab.common.init.methods;

import io.weightlab.common.init.MethodParams;
import io.weightlab.common.init.TensorContext;
import io.weightlab.common.init.TransformPlan;
import io.weightlab.common.init.WeightMethod;

/** {@code keep}: leave matching tensors as they are (to exempt them from a later, broader rule). */
public final class KeepMethod implements WeightMethod {
    public KeepMethod(MethodParams p) { }

    @Override
    public TransformPlan plan(TensorContext c) { return TransformPlan.keep("kept by rule"); }
}
