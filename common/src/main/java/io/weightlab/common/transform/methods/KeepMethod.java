package io.weightlab.common.transform.methods;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;

/** {@code keep}: leave matching tensors as they are (to exempt them from a later, broader rule). */
public final class KeepMethod implements WeightMethod {
    public KeepMethod(MethodParams p) { }

    @Override
    public TransformPlan plan(TensorContext c) { return TransformPlan.keep("kept by rule"); }
}
