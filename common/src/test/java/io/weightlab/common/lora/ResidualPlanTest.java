package io.weightlab.common.lora;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.TransformPlanner;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The residual plan: targeted weights get W ∓ s·B·A with the module's factor file, the rest is kept; shapes and modules must match. */
class ResidualPlanTest {
    private static final TensorInfo Q = new TensorInfo("q.weight", DType.F32, new long[] {8, 4}, "m.safetensors", 0, 128);
    private static final TensorInfo NORM = new TensorInfo("norm.weight", DType.F32, new long[] {4}, "m.safetensors", 128, 144);
    private static final LoraModule MODULE = new LoraModule(Q, "q", 2, 4, 2.0, false);

    @Test
    void targetedWeightsFoldTheFactorsInAndTheRestIsKept() {
        List<TransformPlanner.Planned> sub = ResidualPlan.of(List.of(Q, NORM), "base", Map.of("q.weight", MODULE), Map.of("q", "f.f32"), true, "lora-init pissa", "W - s B A");
        assertEquals(2, sub.size());
        assertTrue(sub.get(0).action() instanceof ResidualAction);
        assertEquals("W - 2.0 * B A (rank 2)", sub.get(0).action().describe());
        assertEquals("lora-init pissa", sub.get(0).rule());
        assertSame(KeepAction.INSTANCE, sub.get(1).action());

        List<TransformPlanner.Planned> add = ResidualPlan.of(List.of(Q, NORM), "base", Map.of("q.weight", MODULE), Map.of("q", "f.f32"), false, "merge", "W + s B A");
        assertEquals("W - -2.0 * B A (rank 2)", add.get(0).action().describe(), "merging adds s·B·A: the residual action with -s");
    }

    @Test
    void aShapeOrModuleThatDoesNotMatchTheBaseIsAnError() {
        LoraModule wide = new LoraModule(new TensorInfo("q.weight", DType.F32, new long[] {4, 8}, "adapter", 0, 128), "q", 2, 4, 2.0, false);
        UsageException shape = assertThrows(UsageException.class,
                () -> ResidualPlan.of(List.of(Q), "base", Map.of("q.weight", wide), Map.of("q", "f"), true, "r", "w"));
        assertTrue(shape.getMessage().contains("SameShapes"), shape.getMessage());
        UsageException missing = assertThrows(UsageException.class,
                () -> ResidualPlan.of(List.of(NORM), "base", Map.of("q.weight", MODULE), Map.of("q", "f"), false, "r", "w"));
        assertTrue(missing.getMessage().contains("SameModules") && missing.getMessage().startsWith("base"), missing.getMessage());
    }
}
