package io.weightlab.common.transform;

import io.weightlab.common.model.DType;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rules, std rules and the TVR decision on a small Llama-shaped layout (no data needed: moments are given). */
class PlannerTest {
    static TensorInfo t(String name, DType d, long... shape) {
        return new TensorInfo(name, d, shape, "mem://x", 0, 0);
    }

    static final List<TensorInfo> LLAMA = List.of(
            t("model.embed_tokens.weight", DType.BF16, 100, 64),
            t("model.layers.0.self_attn.q_proj.weight", DType.BF16, 64, 64),
            t("model.layers.0.self_attn.o_proj.weight", DType.BF16, 64, 64),
            t("model.layers.0.self_attn.o_proj.bias", DType.BF16, 64),
            t("model.layers.0.input_layernorm.weight", DType.BF16, 64),
            t("model.layers.0.mlp.down_proj.weight", DType.BF16, 64, 256),
            t("model.layers.3.mlp.down_proj.weight", DType.BF16, 64, 256),
            t("model.norm.weight", DType.BF16, 64),
            t("lm_head.weight", DType.BF16, 100, 64));

    static List<ApplyRule> rules(String... r) {
        List<ApplyRule> out = new ArrayList<>();
        for (String s : r) out.add(ApplyRule.parse(s, p -> { throw new AssertionError(p); }));
        return out;
    }

    static Map<String, TransformPlanner.Planned> plan(List<ApplyRule> rules, Map<String, MomentAccumulator> m) {
        Map<String, TransformPlanner.Planned> out = new HashMap<>();
        for (TransformPlanner.Planned p : new TransformPlanner(LLAMA, rules, TensorContext.Layout.LINEAR, 0, null).plan(m)) out.put(p.tensor().name(), p);
        return out;
    }

    static MomentAccumulator gaussianMoments(double mean, double std) {
        MomentAccumulator m = new MomentAccumulator();
        double[] v = new double[4096];
        new DrawnAction(9, "m", Samplers.normal(1)).apply(0, v, v.length);
        MomentAccumulator z = new MomentAccumulator();
        z.addBlock(v, 0, v.length);
        for (int i = 0; i < v.length; i++) v[i] = mean + std * (v[i] - z.mean()) / z.stdSample();
        m.addBlock(v, 0, v.length);
        return m;
    }

    @Test
    void globsMatchNamesModulesAndSuffixesRegexMatchesWholeNames() {
        ApplyRule mlp = rules("mlp.*=keep").get(0);
        assertTrue(mlp.matches("model.layers.3.mlp.down_proj.weight"));
        assertFalse(mlp.matches("model.layers.3.self_attn.o_proj.weight"));
        ApplyRule mod = rules("o_proj=keep").get(0);
        assertTrue(mod.matches("model.layers.0.self_attn.o_proj.weight") && mod.matches("model.layers.0.self_attn.o_proj.bias"));
        ApplyRule re = rules("re:model\\.layers\\.[0-2]\\..*=keep").get(0);
        assertTrue(re.matches("model.layers.0.mlp.down_proj.weight"));
        assertFalse(re.matches("model.layers.3.mlp.down_proj.weight"));
    }

    @Test
    void badRulesAndParametersAreRefusedByName() {
        assertTrue(assertThrows(UsageException.class, () -> rules("*=tvrr")).getMessage().contains("unknown method 'tvrr'"));
        assertTrue(assertThrows(UsageException.class, () -> rules("*=tvr:targt_std=0.1")).getMessage().contains("targt_std"));
        assertTrue(assertThrows(UsageException.class, () -> rules("*=tvr:target_std=-1")).getMessage().contains("positive"));
        assertTrue(assertThrows(UsageException.class, () -> rules("no-equals-sign")).getMessage().contains("PATTERN=METHOD"));
        assertTrue(assertThrows(UsageException.class, () -> rules("*=gg")).getMessage().contains("beta"));
        assertThrows(UsageException.class, () -> new TransformPlanner(LLAMA, List.of(), TensorContext.Layout.LINEAR, 0, DType.I8));
    }

    @Test
    void tvrShrinksOnlyAboveTheThresholdKeepsTheMeanAndZeroesTheBias() {
        Map<String, MomentAccumulator> m = new HashMap<>();
        m.put("model.layers.0.self_attn.q_proj.weight", gaussianMoments(0.001, 0.0239)); // ratio 1.195: kept
        m.put("model.layers.0.self_attn.o_proj.weight", gaussianMoments(0.002, 0.05));
        m.put("model.layers.0.mlp.down_proj.weight", gaussianMoments(0, 0.03));
        m.put("model.layers.3.mlp.down_proj.weight", gaussianMoments(0, 0.03));
        List<ApplyRule> r = rules("*=tvr:target_std=0.02,scale_with_depth=true");
        assertEquals(4, new TransformPlanner(LLAMA, r, TensorContext.Layout.LINEAR, 0, null).needingMoments().size(),
                "TVR measures the 2-D weights inside blocks only");
        Map<String, TransformPlanner.Planned> p = plan(r, m);
        assertFalse(p.get("model.layers.0.self_attn.q_proj.weight").action().changesValues());
        AffineAction o = assertInstanceOf(AffineAction.class, p.get("model.layers.0.self_attn.o_proj.weight").action());
        assertEquals(0.02 / 0.05, o.scale(), 1e-12);
        assertEquals(0.002 * (1 - 0.4), o.shift(), 1e-15);
        assertEquals(0.0, assertInstanceOf(ConstantAction.class, p.get("model.layers.0.self_attn.o_proj.bias").action()).value());
        // depth 4 (1-based): target 0.02/2 = 0.01
        assertEquals(0.01 / 0.03, ((AffineAction) p.get("model.layers.3.mlp.down_proj.weight").action()).scale(), 1e-12);
        for (String kept : List.of("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.0.input_layernorm.weight")) {
            assertFalse(p.get(kept).action().changesValues(), kept);
            assertTrue(p.get(kept).copiesBytes(), kept + " is copied byte for byte");
        }
    }

    @Test
    void nanInATensorToRescaleIsAnErrorNamingIt() {
        MomentAccumulator bad = gaussianMoments(0, 0.05);
        bad.add(Double.NaN);
        Map<String, MomentAccumulator> m = new HashMap<>();
        for (TensorInfo t : LLAMA) m.put(t.name(), gaussianMoments(0, 0.05));
        m.put("model.layers.0.mlp.down_proj.weight", bad);
        UsageException e = assertThrows(UsageException.class, () -> plan(rules("*=tvr"), m));
        assertTrue(e.getMessage().contains("model.layers.0.mlp.down_proj.weight") && e.getMessage().contains("FiniteValues"), e.getMessage());
    }

    @Test
    void stdRulesFollowTheirClosedForms() {
        Map<String, TransformPlanner.Planned> p = plan(rules("q_proj=normal:std=xavier", "o_proj=gpt2-residual", "layers.0.mlp.*=kaiming_normal",
                "layers.3.mlp.*=lir:initializer_range=0.01", "*=uniform:std=0.5"), Map.of());
        assertEquals("normal(std=" + Math.sqrt(2.0 / 128) + ")", p.get("model.layers.0.self_attn.q_proj.weight").action().describe());
        // 4 blocks (0..3): 0.02/sqrt(8)
        assertEquals("normal(std=" + 0.02 / Math.sqrt(8) + ")", p.get("model.layers.0.self_attn.o_proj.weight").action().describe());
        assertEquals(0.0, ((ConstantAction) p.get("model.layers.0.self_attn.o_proj.bias").action()).value());
        assertEquals("normal(std=" + Math.sqrt(2) / Math.sqrt(256) + ")", p.get("model.layers.0.mlp.down_proj.weight").action().describe());
        assertEquals("normal(std=" + 0.01 / Math.sqrt(4) + ")", p.get("model.layers.3.mlp.down_proj.weight").action().describe());
        assertTrue(p.get("model.embed_tokens.weight").action().describe().startsWith("uniform("));
        assertFalse(p.get("model.norm.weight").action().changesValues(), "norms are not re-initialised");
        assertEquals(DType.BF16, p.get("model.embed_tokens.weight").outDType());
    }

    @Test
    void conv1dLayoutSwapsFans() {
        TensorInfo w = t("transformer.h.0.mlp.c_fc.weight", DType.F32, 64, 256); // GPT-2 stores [in, out]
        TensorContext lin = TensorContext.of(w, TensorContext.Layout.LINEAR, 1, 0, null);
        TensorContext conv = TensorContext.of(w, TensorContext.Layout.CONV1D, 1, 0, null);
        assertEquals(256, lin.fanIn());
        assertEquals(64, conv.fanIn());
        assertEquals(256, conv.fanOut());
    }
}
