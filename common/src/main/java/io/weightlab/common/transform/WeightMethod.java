package io.weightlab.common.transform;

/**
 * One way of producing new weights (a rescaler or an initialiser), created from its parameters by
 * {@link MethodRegistry} and asked, tensor by tensor, what to do. Methods decide on the driver from headers
 * (and measured moments); the actions they return run on executors.
 */
public interface WeightMethod {
    /** Whether {@link #plan} needs the tensor's measured moments (mean, std): costs one distributed pass. */
    default boolean needsMoments(TensorContext ctx) { return false; }

    TransformPlan plan(TensorContext ctx);
}
