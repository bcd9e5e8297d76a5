package io.weightlab.common.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which tensors are fused expert stacks, and the names and byte ranges of their per-expert views. */
class FusedExpertsTest {
    static TensorInfo t(String name, DType d, long begin, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return new TensorInfo(name, d, shape, "file:/m.safetensors", begin, begin + d.byteLength(n));
    }

    @Test
    void recognisesFusedStacksOnly() {
        assertTrue(FusedExperts.isFused(t("model.layers.0.mlp.experts.down_proj", DType.BF16, 8, 4, 6, 10)));
        assertTrue(FusedExperts.isFused(t("model.layers.3.feed_forward.experts.gate_up_proj", DType.F32, 0, 2, 6, 20)));
        assertTrue(FusedExperts.isFused(t("experts.w1.weight", DType.F16, 0, 3, 4, 4)));
        // per-expert matrices (Mixtral), non-expert 3-D tensors, and 2-D fused biases are not
        assertFalse(FusedExperts.isFused(t("model.layers.0.block_sparse_moe.experts.3.w1.weight", DType.BF16, 0, 6, 10)));
        assertFalse(FusedExperts.isFused(t("model.layers.0.block_sparse_moe.experts.3.w1.weight", DType.BF16, 0, 1, 6, 10)));
        assertFalse(FusedExperts.isFused(t("conv1d.weight", DType.F32, 0, 4, 6, 10)));
        assertFalse(FusedExperts.isFused(t("model.layers.0.mlp.experts.gate_up_proj_bias", DType.F32, 0, 4, 12)));
        assertThrows(IllegalArgumentException.class, () -> FusedExperts.split(t("conv1d.weight", DType.F32, 0, 4, 6, 10)));
    }

    @Test
    void viewsAreNamedLikeTheUnfusedLayoutAndTileTheBytes() {
        TensorInfo fused = t("model.layers.7.mlp.experts.down_proj.weight", DType.BF16, 1000, 4, 6, 10);
        List<TensorInfo> views = FusedExperts.split(fused);
        assertEquals(4, views.size());
        long at = fused.dataBegin();
        for (int e = 0; e < 4; e++) {
            TensorInfo v = views.get(e);
            assertEquals("model.layers.7.mlp.experts." + e + ".down_proj.weight", v.name());
            assertEquals(e, TensorName.parse(v.name()).expert());
            assertEquals(7, TensorName.parse(v.name()).layer());
            assertEquals(2, v.rank());
            assertEquals(6, v.dim(0));
            assertEquals(10, v.dim(1));
            assertEquals(at, v.dataBegin(), "expert " + e + " starts where the previous ends");
            assertEquals(6 * 10 * 2, v.byteLength());
            at = v.dataEnd();
        }
        assertEquals(fused.dataEnd(), at, "the views cover the fused tensor exactly");
    }
}
