package io.weightlab.common.model;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The structure carried by a tensor name (docs/design.md (What we compare against §7)): the stack it lives in ({@code model.layers},
 * {@code encoder.block}, ...), the block (layer) index, an expert index for MoE, the module kind and role,
 * and whether it is a weight, bias or other parameter. Families: BERT/RoBERTa, LLaMA/Mistral/Qwen/Gemma,
 * Mixtral/Qwen-MoE, Phi-3, GPT-2/NeoX/BLOOM/Falcon, T5, ViT.
 */
public final class TensorName implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Param { WEIGHT, BIAS, OTHER }

    private static final Pattern NUMBER = Pattern.compile("\\.(\\d+)(?=\\.|$)");
    private static final Pattern EXPERT = Pattern.compile("(?:^|\\.)experts\\.(\\d+)(?:\\.|$)");
    private static final Set<String> BUFFERS = Set.of("position_ids", "inv_freq", "masked_bias", "token_type_ids");
    /**
     * Quantization scales: names ending in "_scale" (ONNX's and compressed-tensors' companions, FP8 weight, input and
     * KV-cache scales), DeepSeek's "weight_scale_inv", NVFP4's "weight_scale_2", GPTQ/AWQ "scales", bitsandbytes
     * "absmax"; but not the models' own parameters that end in "_scale" (CLIP/SigLIP's logit_scale, the layer_scale
     * of ViT and ConvNeXt blocks), which were taken for quantization data and left out of the analysis.
     */
    private static final Set<String> QUANT_SCALES = Set.of("weight_scale_inv", "weight_scale_2", "scales", "absmax");
    private static final Set<String> MODEL_SCALES = Set.of("logit_scale", "layer_scale", "ls_scale", "gamma_scale", "res_scale");

    private static boolean isQuantScale(String lowerName) {
        String leaf = lowerName.substring(lowerName.lastIndexOf('.') + 1);
        return QUANT_SCALES.contains(leaf) || (leaf.endsWith("_scale") && !MODEL_SCALES.contains(leaf));
    }

    private final String name;
    private final String stack;
    private final Integer layer;
    private final Integer expert;
    private final ModuleKind kind;
    private final Param param;

    private TensorName(String name, String stack, Integer layer, Integer expert, ModuleKind kind, Param param) {
        this.name = name;
        this.stack = stack;
        this.layer = layer;
        this.expert = expert;
        this.kind = kind;
        this.param = param;
    }

    public static TensorName parse(String name) {
        String base = name;
        Param param = Param.OTHER;
        for (String w : List.of(".weight", ".gamma", ".kernel")) {
            if (base.endsWith(w)) { base = base.substring(0, base.length() - w.length()); param = Param.WEIGHT; }
        }
        for (String b : List.of(".bias", ".beta")) {
            if (base.endsWith(b)) { base = base.substring(0, base.length() - b.length()); param = Param.BIAS; }
        }
        String stack = null;
        Integer layer = null;
        Matcher m = NUMBER.matcher(base);
        if (m.find()) {
            stack = base.substring(0, m.start());
            layer = Integer.parseInt(m.group(1));
        }
        Integer expert = null;
        Matcher e = EXPERT.matcher(base);
        if (e.find()) expert = Integer.parseInt(e.group(1));
        ModuleKind kind = classify(name, base, param);
        return new TensorName(name, stack, layer, expert, kind, param);
    }

    private static ModuleKind classify(String full, String base, Param param) {
        String lower = full.toLowerCase(Locale.ROOT);
        List<String> parts = Arrays.asList(base.split("\\."));
        String leaf = parts.get(parts.size() - 1);
        String parent = parts.size() > 1 ? parts.get(parts.size() - 2) : "";
        String leafLower = leaf.toLowerCase(Locale.ROOT);

        // Quantization side tensors: used to dequantize their weight, never analysed as weights.
        if (isQuantScale(lower)) return ModuleKind.QUANT_SCALE;
        if (lower.endsWith("_zero_point") || lower.endsWith(".qzeros")) return ModuleKind.QUANT_ZERO_POINT;
        if (lower.endsWith(".g_idx")) return ModuleKind.QUANT_OTHER;
        // GPT-2 stores its causal mask as "h.N.attn.bias" (and "attn.masked_bias"): buffers, not parameters.
        if (BUFFERS.contains(leaf) || (param == Param.BIAS && leaf.equals("attn"))) {
            return ModuleKind.BUFFER;
        }
        if (leafLower.contains("norm") || leafLower.startsWith("ln_") || leafLower.equals("ln") || leafLower.equals("ln_f")) {
            return ModuleKind.NORM;
        }
        if (leaf.equals("relative_attention_bias")) return ModuleKind.RELATIVE_BIAS;
        if (leaf.equals("lm_head") || base.equals("lm_head") || leaf.equals("embed_out")) return ModuleKind.LM_HEAD;
        switch (leaf) {
            case "word_embeddings", "embed_tokens", "wte", "shared", "token_type_embeddings", "tok_embeddings" -> { return ModuleKind.EMBEDDING; }
            case "position_embeddings", "wpe", "embed_positions" -> { return ModuleKind.POSITION_EMBEDDING; }
            default -> { }
        }
        if (base.contains("patch_embed")) return ModuleKind.PATCH_EMBEDDING;
        boolean inAttention = base.contains("attn") || base.contains("attention") || base.contains("Attention");
        switch (leaf) {
            case "q_proj", "query", "wq" -> { return ModuleKind.ATTN_Q; }
            case "k_proj", "key", "wk" -> { return ModuleKind.ATTN_K; }
            case "v_proj", "value", "wv" -> { return ModuleKind.ATTN_V; }
            case "qkv_proj", "c_attn", "query_key_value", "Wqkv", "qkv" -> { return ModuleKind.ATTN_QKV; }
            case "o_proj", "out_proj" -> { return inAttention || leaf.equals("o_proj") ? ModuleKind.ATTN_O : ModuleKind.OTHER; }
            case "q", "k", "v", "o" -> {
                if (inAttention) {
                    return switch (leaf) {
                        case "q" -> ModuleKind.ATTN_Q;
                        case "k" -> ModuleKind.ATTN_K;
                        case "v" -> ModuleKind.ATTN_V;
                        default -> ModuleKind.ATTN_O;
                    };
                }
                return ModuleKind.OTHER;
            }
            case "gate_proj", "w1", "wi_0" -> { return ModuleKind.MLP_GATE; }
            case "up_proj", "w3", "wi_1", "c_fc", "dense_h_to_4h", "wi", "fc1" -> { return ModuleKind.MLP_UP; }
            case "down_proj", "w2", "dense_4h_to_h", "fc2" -> { return ModuleKind.MLP_DOWN; }
            case "gate_up_proj" -> { return ModuleKind.MLP_GATE_UP; }
            case "gate", "router", "classifier" -> {
                if (leaf.equals("classifier")) return ModuleKind.OTHER;
                return ModuleKind.ROUTER;
            }
            case "wo" -> { return parent.equals("DenseReluDense") || !inAttention ? ModuleKind.MLP_DOWN : ModuleKind.ATTN_O; }
            case "c_proj" -> { return parent.equals("attn") ? ModuleKind.ATTN_O : ModuleKind.MLP_DOWN; }
            case "dense" -> {
                // BERT: attention.output.dense, intermediate.dense, output.dense; NeoX: attention.dense.
                if (parent.equals("intermediate")) return ModuleKind.MLP_UP;
                if (parent.equals("attention") || (parent.equals("output") && parts.size() > 2
                        && parts.get(parts.size() - 3).equals("attention"))) return ModuleKind.ATTN_O;
                if (parent.equals("output")) return ModuleKind.MLP_DOWN;
                return ModuleKind.OTHER;
            }
            default -> { return ModuleKind.OTHER; }
        }
    }

    public String name() { return name; }

    /** The block container ("encoder.layer", "model.layers"), or null outside any block. */
    public String stack() { return stack; }

    /** 0-based block index as in the name, or null (embeddings, final norm, lm_head). */
    public Integer layer() { return layer; }

    public Integer expert() { return expert; }

    public ModuleKind kind() { return kind; }

    public ModuleKind.Role role() { return kind.role(); }

    public Param param() { return param; }

    /** A tensor to analyse as a weight (not a quantization side tensor or a buffer). */
    public boolean isAnalysable() {
        return kind.role() != ModuleKind.Role.QUANTIZATION && kind != ModuleKind.BUFFER;
    }

    /** "stack.N" for tensors inside a block, else "(none)"; the key per-layer roll-ups use. */
    public String layerKey() {
        return layer == null ? "(none)" : stack + "." + layer;
    }
}
