package io.weightlab.common.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The families of docs/design.md (What we compare against §7). */
class TensorNameTest {
    private static void is(String name, ModuleKind kind, String stack, Integer layer) {
        TensorName t = TensorName.parse(name);
        assertEquals(kind, t.kind(), name);
        assertEquals(stack, t.stack(), name);
        assertEquals(layer, t.layer(), name);
    }

    @Test
    void llamaMistralQwen() {
        is("model.layers.12.self_attn.q_proj.weight", ModuleKind.ATTN_Q, "model.layers", 12);
        is("model.layers.0.self_attn.k_proj.weight", ModuleKind.ATTN_K, "model.layers", 0);
        is("model.layers.3.self_attn.o_proj.weight", ModuleKind.ATTN_O, "model.layers", 3);
        is("model.layers.3.mlp.gate_proj.weight", ModuleKind.MLP_GATE, "model.layers", 3);
        is("model.layers.3.mlp.up_proj.weight", ModuleKind.MLP_UP, "model.layers", 3);
        is("model.layers.3.mlp.down_proj.weight", ModuleKind.MLP_DOWN, "model.layers", 3);
        is("model.layers.3.input_layernorm.weight", ModuleKind.NORM, "model.layers", 3);
        is("model.embed_tokens.weight", ModuleKind.EMBEDDING, null, null);
        is("lm_head.weight", ModuleKind.LM_HEAD, null, null);
        is("model.norm.weight", ModuleKind.NORM, null, null);
        is("model.layers.1.self_attn.rotary_emb.inv_freq", ModuleKind.BUFFER, "model.layers", 1);
    }

    @Test
    void moeExpertsAndRouters() {
        TensorName t = TensorName.parse("model.layers.5.block_sparse_moe.experts.7.w2.weight");
        assertEquals(ModuleKind.MLP_DOWN, t.kind());
        assertEquals(5, t.layer());
        assertEquals(7, t.expert());
        is("model.layers.5.block_sparse_moe.experts.7.w1.weight", ModuleKind.MLP_GATE, "model.layers", 5);
        is("model.layers.5.block_sparse_moe.gate.weight", ModuleKind.ROUTER, "model.layers", 5);
        is("model.layers.5.mlp.gate.weight", ModuleKind.ROUTER, "model.layers", 5);
        is("model.layers.5.mlp.experts.3.up_proj.weight", ModuleKind.MLP_UP, "model.layers", 5);
    }

    @Test
    void gpt2Conv1DAndFused() {
        is("transformer.h.7.attn.c_attn.weight", ModuleKind.ATTN_QKV, "transformer.h", 7);
        is("transformer.h.7.attn.c_proj.weight", ModuleKind.ATTN_O, "transformer.h", 7);
        is("transformer.h.7.mlp.c_fc.weight", ModuleKind.MLP_UP, "transformer.h", 7);
        is("transformer.h.7.mlp.c_proj.weight", ModuleKind.MLP_DOWN, "transformer.h", 7);
        is("transformer.h.7.ln_1.weight", ModuleKind.NORM, "transformer.h", 7);
        is("transformer.wte.weight", ModuleKind.EMBEDDING, null, null);
        is("transformer.wpe.weight", ModuleKind.POSITION_EMBEDDING, null, null);
        is("transformer.h.7.attn.bias", ModuleKind.BUFFER, "transformer.h", 7);
        is("gpt_neox.layers.2.attention.query_key_value.weight", ModuleKind.ATTN_QKV, "gpt_neox.layers", 2);
        is("gpt_neox.layers.2.attention.dense.weight", ModuleKind.ATTN_O, "gpt_neox.layers", 2);
        is("gpt_neox.layers.2.mlp.dense_4h_to_h.weight", ModuleKind.MLP_DOWN, "gpt_neox.layers", 2);
        is("model.layers.2.self_attn.qkv_proj.weight", ModuleKind.ATTN_QKV, "model.layers", 2);
        is("model.layers.2.mlp.gate_up_proj.weight", ModuleKind.MLP_GATE_UP, "model.layers", 2);
    }

    @Test
    void bertOutputDenseIsDisambiguatedByItsParent() {
        is("encoder.layer.3.attention.self.query.weight", ModuleKind.ATTN_Q, "encoder.layer", 3);
        is("encoder.layer.3.attention.output.dense.weight", ModuleKind.ATTN_O, "encoder.layer", 3);
        is("encoder.layer.3.intermediate.dense.weight", ModuleKind.MLP_UP, "encoder.layer", 3);
        is("encoder.layer.3.output.dense.weight", ModuleKind.MLP_DOWN, "encoder.layer", 3);
        is("bert.encoder.layer.3.output.LayerNorm.gamma", ModuleKind.NORM, "bert.encoder.layer", 3);
        is("embeddings.word_embeddings.weight", ModuleKind.EMBEDDING, null, null);
        is("embeddings.position_ids", ModuleKind.BUFFER, null, null);
        is("vit.encoder.layer.1.attention.attention.query.weight", ModuleKind.ATTN_Q, "vit.encoder.layer", 1);
        is("vit.embeddings.patch_embeddings.projection.weight", ModuleKind.PATCH_EMBEDDING, null, null);
    }

    @Test
    void t5SubLayers() {
        TensorName t = TensorName.parse("encoder.block.4.layer.1.DenseReluDense.wo.weight");
        assertEquals(ModuleKind.MLP_DOWN, t.kind());
        assertEquals("encoder.block", t.stack());
        assertEquals(4, t.layer());
        is("decoder.block.0.layer.1.EncDecAttention.q.weight", ModuleKind.ATTN_Q, "decoder.block", 0);
        is("decoder.block.0.layer.0.SelfAttention.o.weight", ModuleKind.ATTN_O, "decoder.block", 0);
        is("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", ModuleKind.RELATIVE_BIAS, "encoder.block", 0);
        is("encoder.block.0.layer.1.DenseReluDense.wi_0.weight", ModuleKind.MLP_GATE, "encoder.block", 0);
        is("shared.weight", ModuleKind.EMBEDDING, null, null);
    }

    @Test
    void quantizationSideTensorsAreNotWeights() {
        is("encoder.layer.0.attention.self.query.weight_scale", ModuleKind.QUANT_SCALE, "encoder.layer", 0);
        is("encoder.layer.0.attention.self.query.weight_zero_point", ModuleKind.QUANT_ZERO_POINT, "encoder.layer", 0);
        is("model.layers.0.mlp.down_proj.weight_scale_inv", ModuleKind.QUANT_SCALE, "model.layers", 0);
        assertFalse(TensorName.parse("model.layers.0.mlp.down_proj.weight_scale_inv").isAnalysable());
        is("model.layers.3.self_attn.k_scale", ModuleKind.QUANT_SCALE, "model.layers", 3);
        is("model.layers.3.mlp.up_proj.input_scale", ModuleKind.QUANT_SCALE, "model.layers", 3);
        is("model.layers.3.mlp.up_proj.weight_scale_2", ModuleKind.QUANT_SCALE, "model.layers", 3);
        is("model.layers.3.mlp.up_proj.scales", ModuleKind.QUANT_SCALE, "model.layers", 3);
        // parameters that happen to end in "_scale" are the model's own
        assertNotEquals(ModuleKind.QUANT_SCALE, TensorName.parse("logit_scale").kind());
        assertNotEquals(ModuleKind.QUANT_SCALE, TensorName.parse("vision_model.encoder.layers.2.layer_scale").kind());
        assertNull(TensorName.parse("lm_head.weight").layer());
    }
}
