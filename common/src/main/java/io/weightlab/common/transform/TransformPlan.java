package io.weightlab.common.transform;

/**
 * A method's decision for one tensor: the action, why (for provenance and the console), and whether the bias of
 * the same module must be zeroed because this weight was rescaled (TVR's rule).
 */
public record TransformPlan(TensorAction action, String why, boolean zeroesBias) {
    public static TransformPlan keep(String why) {
        return new TransformPlan(KeepAction.INSTANCE, why, false);
    }

    public static TransformPlan of(TensorAction action, String why) {
        return new TransformPlan(action, why, false);
    }
}
