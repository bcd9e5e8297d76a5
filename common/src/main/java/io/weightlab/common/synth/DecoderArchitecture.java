package io.weightlab.common.synth;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The tensors of a Hugging Face decoder-only model, read off its {@code config.json}: exact names, shapes and order
 * (the order of the model's state_dict, which is how the hub shards it). LLaMA, Mistral and Qwen2 (dense; Qwen2
 * with q/k/v biases), Mixtral ({@code block_sparse_moe}, experts w1/w2/w3) and Qwen2-MoE ({@code mlp.experts},
 * shared expert and its gate).
 */
public final class DecoderArchitecture {
    /** One tensor: name, shape, what it is, its layer (−1 outside the layer stack). */
    public record Tensor(String name, long[] shape, ModuleKind kind, int layer) {}

    private static final Set<String> DENSE = Set.of("llama", "mistral", "qwen2", "qwen3");
    private static final Set<String> MOE = Set.of("mixtral", "qwen2_moe");

    private DecoderArchitecture() {}

    /** The attention head size: {@code head_dim} when given, else hidden_size / num_attention_heads (which must divide). */
    public static long headDim(JsonNode c, String source) {
        long h = need(c, "hidden_size", source), heads = need(c, "num_attention_heads", source);
        if (c.has("head_dim") && !c.get("head_dim").isNull()) return need(c, "head_dim", source);
        if (h % heads != 0) {
            throw new UsageException(source + ": hidden_size " + h + " is not a multiple of num_attention_heads " + heads + " and head_dim is not given");
        }
        return h / heads;
    }

    public static List<Tensor> tensors(JsonNode c, String source) {
        String type = c.path("model_type").asText("");
        if (!DENSE.contains(type) && !MOE.contains(type)) {
            throw new UsageException(source + ": model_type '" + type + "' is not a supported decoder (llama, mistral, qwen2, qwen3, mixtral, qwen2_moe)");
        }
        long h = need(c, "hidden_size", source), layers = need(c, "num_hidden_layers", source), vocab = need(c, "vocab_size", source);
        long heads = need(c, "num_attention_heads", source);
        long kv = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull() ? need(c, "num_key_value_heads", source) : heads;
        long hd = headDim(c, source);
        if (heads % kv != 0) throw new UsageException(source + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kv);
        boolean qkvBias = c.path("attention_bias").asBoolean(type.startsWith("qwen2"));
        boolean qkNorm = type.equals("qwen3");
        boolean tie = c.path("tie_word_embeddings").asBoolean(false);
        long guard = h * vocab + layers * h * h * 4;
        if (guard > 2_000_000_000_000L) throw new UsageException(source + ": more than 2 T parameters; refusing (check the config)");

        List<Tensor> out = new ArrayList<>();
        out.add(new Tensor("model.embed_tokens.weight", new long[] {vocab, h}, ModuleKind.EMBEDDING, -1));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            out.add(new Tensor(p + "input_layernorm.weight", new long[] {h}, ModuleKind.NORM, l));
            out.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {heads * hd, h}, ModuleKind.ATTN_Q, l));
            if (qkvBias) out.add(new Tensor(p + "self_attn.q_proj.bias", new long[] {heads * hd}, ModuleKind.OTHER, l));
            out.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {kv * hd, h}, ModuleKind.ATTN_K, l));
            if (qkvBias) out.add(new Tensor(p + "self_attn.k_proj.bias", new long[] {kv * hd}, ModuleKind.OTHER, l));
            out.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {kv * hd, h}, ModuleKind.ATTN_V, l));
            if (qkvBias) out.add(new Tensor(p + "self_attn.v_proj.bias", new long[] {kv * hd}, ModuleKind.OTHER, l));
            out.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {h, heads * hd}, ModuleKind.ATTN_O, l));
            if (qkNorm) {
                out.add(new Tensor(p + "self_attn.q_norm.weight", new long[] {hd}, ModuleKind.NORM, l));
                out.add(new Tensor(p + "self_attn.k_norm.weight", new long[] {hd}, ModuleKind.NORM, l));
            }
            out.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {h}, ModuleKind.NORM, l));
            switch (type) {
                case "mixtral" -> {
                    long e = need(c, "num_local_experts", source), inter = need(c, "intermediate_size", source);
                    out.add(new Tensor(p + "block_sparse_moe.gate.weight", new long[] {e, h}, ModuleKind.ROUTER, l));
                    for (int x = 0; x < e; x++) {
                        String q = p + "block_sparse_moe.experts." + x + ".";
                        out.add(new Tensor(q + "w1.weight", new long[] {inter, h}, ModuleKind.MLP_GATE, l));
                        out.add(new Tensor(q + "w2.weight", new long[] {h, inter}, ModuleKind.MLP_DOWN, l));
                        out.add(new Tensor(q + "w3.weight", new long[] {inter, h}, ModuleKind.MLP_UP, l));
                    }
                }
                case "qwen2_moe" -> {
                    if (!sparseLayer(c, l)) {
                        mlp(out, p + "mlp.", h, need(c, "intermediate_size", source), l);
                        break;
                    }
                    long e = need(c, "num_experts", source), inter = need(c, "moe_intermediate_size", source);
                    out.add(new Tensor(p + "mlp.gate.weight", new long[] {e, h}, ModuleKind.ROUTER, l));
                    for (int x = 0; x < e; x++) mlp(out, p + "mlp.experts." + x + ".", h, inter, l);
                    long shared = c.path("shared_expert_intermediate_size").asLong(0);
                    if (shared > 0) {
                        mlp(out, p + "mlp.shared_expert.", h, shared, l);
                        out.add(new Tensor(p + "mlp.shared_expert_gate.weight", new long[] {1, h}, ModuleKind.ROUTER, l));
                    }
                }
                default -> mlp(out, p + "mlp.", h, need(c, "intermediate_size", source), l);
            }
        }
        out.add(new Tensor("model.norm.weight", new long[] {h}, ModuleKind.NORM, -1));
        if (!tie) out.add(new Tensor("lm_head.weight", new long[] {vocab, h}, ModuleKind.LM_HEAD, -1));
        return out;
    }

    /** Qwen2-MoE: layers in mlp_only_layers, and those off the decoder_sparse_step grid, are dense. */
    private static boolean sparseLayer(JsonNode c, int l) {
        for (JsonNode x : c.path("mlp_only_layers")) if (x.asInt() == l) return false;
        int step = c.path("decoder_sparse_step").asInt(1);
        return step > 0 && (l + 1) % step == 0;
    }

    private static void mlp(List<Tensor> out, String p, long h, long inter, int l) {
        out.add(new Tensor(p + "gate_proj.weight", new long[] {inter, h}, ModuleKind.MLP_GATE, l));
        out.add(new Tensor(p + "up_proj.weight", new long[] {inter, h}, ModuleKind.MLP_UP, l));
        out.add(new Tensor(p + "down_proj.weight", new long[] {h, inter}, ModuleKind.MLP_DOWN, l));
    }

    private static long need(JsonNode c, String key, String source) {
        JsonNode v = c.get(key);
        if (v == null || !v.canConvertToLong() || v.asLong() < 1 || v.asLong() > (1L << 31)) {
            throw new UsageException(source + ": config.json needs a positive integer '" + key + "'" + (v == null ? "" : ", got " + v));
        }
        return v.asLong();
    }
}
