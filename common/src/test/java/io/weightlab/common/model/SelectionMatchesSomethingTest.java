package io.weightlab.common.model;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.VarianceCorrection;
import io.weightlab.common.lora.LoraTargets;
import io.weightlab.common.transform.ApplyRule;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlanner;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A selection (--apply rule, --target-modules name, --correct pattern) that matches no tensor is an error that lists
 * what the checkpoint has; selections by module kind and role pick the modules inspect labels so.
 */
class SelectionMatchesSomethingTest {
    static TensorInfo t(String name, long... shape) {
        return new TensorInfo(name, DType.F32, shape, "mem://bert", 0, 0);
    }

    static final List<TensorInfo> BERT = List.of(
            t("embeddings.word_embeddings.weight", 100, 32),
            t("encoder.layer.0.attention.self.query.weight", 32, 32),
            t("encoder.layer.0.attention.self.query.bias", 32),
            t("encoder.layer.0.attention.output.dense.weight", 32, 32),
            t("encoder.layer.0.intermediate.dense.weight", 128, 32),
            t("encoder.layer.0.output.dense.weight", 32, 128),
            t("encoder.layer.1.intermediate.dense.weight", 128, 32),
            t("encoder.layer.1.output.LayerNorm.weight", 32));
    static final List<String> NAMES = BERT.stream().map(TensorInfo::name).toList();

    static TransformPlanner planner(String... rules) {
        return new TransformPlanner(BERT, java.util.Arrays.stream(rules).map(r -> ApplyRule.parse(r, f -> null)).toList(),
                TensorContext.Layout.LINEAR, 0, null);
    }

    @Test
    void anApplyRuleMatchingNoTensorIsRefusedWithTheKindsAndNamesThereAre() {
        UsageException e = assertThrows(UsageException.class, () -> planner("mlp.*=tvr:target_std=0.02"));
        String m = e.getMessage();
        assertTrue(m.startsWith("--apply 'mlp.*=tvr:target_std=0.02' matches no tensor;"), m);
        assertTrue(m.contains("mlp_up (2)") && m.contains("mlp_down (1)") && m.contains("select with kind:NAME"), m);
        assertTrue(m.contains("modules here: encoder.layer.*.attention.self.query, encoder.layer.*.attention.output.dense, encoder.layer.*.intermediate.dense"), "block modules first, numbers as *: " + m);
        // every rule counts, not only the first
        assertThrows(UsageException.class, () -> planner("query=keep", "o_proj=tvr"));
        planner("query=keep", "dense=tvr");
    }

    @Test
    void rulesSelectByModuleKindAndRoleAsInspectShowsThem() {
        TransformPlanner p = planner("kind:mlp_up=tvr:target_std=0.02", "role:attention=keep");
        assertEquals("kind:mlp_up=tvr:target_std=0.02", p.ruleFor("encoder.layer.1.intermediate.dense.weight").text());
        assertEquals("role:attention=keep", p.ruleFor("encoder.layer.0.attention.output.dense.weight").text());
        assertEquals("role:attention=keep", p.ruleFor("encoder.layer.0.attention.self.query.bias").text());
        assertNull(p.ruleFor("encoder.layer.0.output.dense.weight"), "mlp_down: neither kind nor role");
        TensorSelector several = TensorSelector.parse("test", "kind:mlp_up,mlp_down");
        assertTrue(several.matches("encoder.layer.0.output.dense.weight") && several.matches("encoder.layer.0.intermediate.dense.weight"));
        assertFalse(several.matches("encoder.layer.0.attention.self.query.weight"));

        UsageException e = assertThrows(UsageException.class, () -> planner("kind:mlp_upp=tvr"));
        assertTrue(e.getMessage().contains("unknown module kind 'mlp_upp' (did you mean 'mlp_up'"), e.getMessage());
        e = assertThrows(UsageException.class, () -> planner("role:atention=keep"));
        assertTrue(e.getMessage().contains("unknown role 'atention' (did you mean 'attention'"), e.getMessage());
        // a kind this checkpoint does not have is a selection matching nothing
        e = assertThrows(UsageException.class, () -> planner("kind:router=keep"));
        assertTrue(e.getMessage().contains("matches no tensor"), e.getMessage());
    }

    @Test
    void everyTargetModuleMustMatchAModule() {
        assertEquals(2, LoraTargets.resolve(BERT, List.of("intermediate.dense"), 4, 8, false, null, null).size());
        UsageException e = assertThrows(UsageException.class, () -> LoraTargets.resolve(BERT, List.of("query", "valeu"), 4, 8, false, null, null));
        assertTrue(e.getMessage().startsWith("--target-modules valeu matches no 2-D weight"), e.getMessage());
        assertTrue(e.getMessage().contains("word_embeddings, query, dense"), "the module names there are: " + e.getMessage());
        e = assertThrows(UsageException.class, () -> LoraTargets.resolve(BERT, List.of("q_proj"), 4, 8, false, null, null));
        assertTrue(e.getMessage().contains("--target-modules q_proj matches no 2-D weight"), e.getMessage());
    }

    @Test
    void aCorrectPatternMustMatchATensor() {
        assertNull(VarianceCorrection.selection("2d", NAMES));
        assertTrue(VarianceCorrection.selection("dense", NAMES).matches("encoder.layer.0.output.dense.weight"));
        assertTrue(VarianceCorrection.selection("kind:attn_q", NAMES).matches("encoder.layer.0.attention.self.query.weight"));
        UsageException e = assertThrows(UsageException.class, () -> VarianceCorrection.selection("mlp.*", NAMES));
        assertTrue(e.getMessage().startsWith("--correct 'mlp.*' matches no tensor; module kinds here:"), e.getMessage());
    }
}
