package io.weightlab.common.lora;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.TransformPlanner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The plan of a base checkpoint with LoRA factors folded in, W ∓ s·B·A per targeted matrix (docs/algorithms.md, LoRA
 * residual), every other tensor copied byte for byte: lora-init's residual base (subtract) and the federated LoRA
 * round's {@code --merge-into} (add). The factors are read on the executors from each module's factor file.
 */
public final class ResidualPlan {
    private ResidualPlan() {}

    /**
     * One plan entry per tensor of {@code base}, in its order. {@code byBaseTensor} maps a base tensor name to its
     * module, whose factors are in {@code factorFiles.get(module.module())}; a module whose base tensor is missing or
     * shaped differently is a usage error naming {@code baseName}.
     */
    public static List<TransformPlanner.Planned> of(List<TensorInfo> base, String baseName, Map<String, LoraModule> byBaseTensor,
                                                    Map<String, String> factorFiles, boolean subtract, String rule, String why) {
        Map<String, LoraModule> left = new LinkedHashMap<>(byBaseTensor);
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        for (TensorInfo t : base) {
            LoraModule m = left.remove(t.name());
            if (m == null) {
                plans.add(new TransformPlanner.Planned(t, null, KeepAction.INSTANCE, "not targeted", t.dtype()));
                continue;
            }
            long rows = m.fanInFanOut() ? m.in() : m.out(), cols = m.fanInFanOut() ? m.out() : m.in();
            if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols) {
                throw new UsageException(t.file() + ": '" + t.name() + "' is " + t.shapeString() + " but the adapter's module is [" + rows + ", " + cols
                        + "] (rule: SameShapes)");
            }
            double s = subtract ? m.scaling() : -m.scaling();
            plans.add(new TransformPlanner.Planned(t, rule, new ResidualAction(factorFiles.get(m.module()), s, m.r(), m.in(), m.out(), m.fanInFanOut()),
                    why, t.dtype()));
        }
        if (!left.isEmpty()) throw new UsageException(baseName + ": no base weight for adapter module(s) " + left.keySet() + " (rule: SameModules)");
        return plans;
    }
}
