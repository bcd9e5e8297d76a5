package io.weightlab.common.surgery;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.synth.DecoderArchitecture;

import java.util.Set;

/**
 * The logits of a dense LLaMA-family decoder (Llama, Mistral, Qwen2 with q/k/v biases, Qwen3 with q/k norms) on one
 * short token sequence, in float64, as transformers computes them: RMSNorm, rotary embeddings (rotate-half, default
 * or "llama3" frequencies), causal grouped-query attention, SwiGLU, tied or untied head. It reads every weight
 * matrix in row blocks of at most {@link #BLOCK_ELEMENTS}, so memory is a few blocks and T x width activations,
 * whatever the model's size. Used to say how far a lossy edit moved a model's function (grow --noise-std).
 */
public final class DecoderLogits {
    /** Dense families this forward reproduces; MoE and others are refused by {@link #unsupported}. */
    public static final Set<String> FAMILIES = Set.of("llama", "mistral", "qwen2", "qwen3");
    static final int BLOCK_ELEMENTS = 1 << 21;

    /** A checkpoint's tensors by name: shape, and rows [first, first + count) decoded to doubles, row-major. */
    public interface Weights {
        boolean has(String name);

        long[] shape(String name);

        double[] rows(String name, long first, int count);
    }

    private DecoderLogits() {}

    /** Why this forward cannot run the model, or null when it can. */
    public static String unsupported(JsonNode config) {
        String type = config.path("model_type").asText("");
        if (!FAMILIES.contains(type)) return "model_type '" + type + "' (the probe runs dense " + new java.util.TreeSet<>(FAMILIES) + ")";
        JsonNode scaling = config.path("rope_scaling");
        if (!scaling.isMissingNode() && !scaling.isNull()) {
            String rope = scaling.path("rope_type").asText(scaling.path("type").asText(""));
            if (!rope.equals("default") && !rope.equals("llama3")) return "rope_scaling '" + rope + "' (the probe implements default and llama3)";
        }
        String act = config.path("hidden_act").asText("silu");
        if (!act.equals("silu")) return "hidden_act '" + act + "'";
        return null;
    }

    /** Logits [T][vocab] of {@code tokens} at positions 0..T-1. */
    public static double[][] logits(JsonNode c, Weights w, int[] tokens) {
        String why = unsupported(c);
        if (why != null) throw new IllegalArgumentException("cannot run " + why);
        int t = tokens.length;
        int d = c.path("hidden_size").asInt();
        int heads = c.path("num_attention_heads").asInt();
        int kv = c.path("num_key_value_heads").asInt(heads);
        int hd = (int) DecoderArchitecture.headDim(c, "config.json");
        double eps = c.path("rms_norm_eps").asDouble(1e-6);
        int layers = c.path("num_hidden_layers").asInt();
        double[][] cos = new double[t][], sin = new double[t][];
        rope(c, hd, t, cos, sin);

        String embed = "model.embed_tokens.weight";
        double[][] h = new double[t][];
        for (int i = 0; i < t; i++) h[i] = w.rows(embed, tokens[i], 1);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[][] x = rmsNorm(h, w.rows(p + "input_layernorm.weight", 0, 1), eps);
            double[][] q = linear(w, p + "self_attn.q_proj", x), k = linear(w, p + "self_attn.k_proj", x), v = linear(w, p + "self_attn.v_proj", x);
            if (w.has(p + "self_attn.q_norm.weight")) { // Qwen3: RMSNorm over each head before the rotation
                headNorm(q, w.rows(p + "self_attn.q_norm.weight", 0, 1), hd, eps);
                headNorm(k, w.rows(p + "self_attn.k_norm.weight", 0, 1), hd, eps);
            }
            rotate(q, cos, sin, hd);
            rotate(k, cos, sin, hd);
            double[][] attn = attention(q, k, v, heads, kv, hd);
            add(h, linear(w, p + "self_attn.o_proj", attn));
            x = rmsNorm(h, w.rows(p + "post_attention_layernorm.weight", 0, 1), eps);
            double[][] gate = linear(w, p + "mlp.gate_proj", x), up = linear(w, p + "mlp.up_proj", x);
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < gate[i].length; j++) gate[i][j] = gate[i][j] / (1 + Math.exp(-gate[i][j])) * up[i][j];
            }
            add(h, linear(w, p + "mlp.down_proj", gate));
        }
        double[][] x = rmsNorm(h, w.rows("model.norm.weight", 0, 1), eps);
        return matmulRows(w, w.has("lm_head.weight") ? "lm_head.weight" : embed, x);
    }

    /** y = x Wᵀ (+ b) for a linear module {@code name} (.weight, optional .bias). */
    private static double[][] linear(Weights w, String name, double[][] x) {
        double[][] y = matmulRows(w, name + ".weight", x);
        if (w.has(name + ".bias")) {
            double[] b = w.rows(name + ".bias", 0, 1);
            for (double[] row : y) for (int j = 0; j < row.length; j++) row[j] += b[j];
        }
        return y;
    }

    /** x Wᵀ with W [out, in] read in row blocks, each block's product by OpenBLAS dgemm (x [T, in] · blockᵀ [in, n]). */
    private static double[][] matmulRows(Weights w, String name, double[][] x) {
        long[] shape = w.shape(name);
        int out = (int) shape[0], in = (int) shape[1], t = x.length;
        double[] xs = new double[t * in];
        for (int i = 0; i < t; i++) System.arraycopy(x[i], 0, xs, i * in, in);
        double[][] y = new double[t][out];
        int step = Math.max(1, BLOCK_ELEMENTS / in);
        for (int first = 0; first < out; first += step) {
            int n = Math.min(step, out - first);
            double[] yb = io.weightlab.common.linalg.Lapack.multiply(xs, false, w.rows(name, first, n), true, t, n, in);
            for (int i = 0; i < t; i++) System.arraycopy(yb, i * n, y[i], first, n);
        }
        return y;
    }

    private static double[][] rmsNorm(double[][] h, double[] gain, double eps) {
        double[][] out = new double[h.length][];
        for (int i = 0; i < h.length; i++) {
            double ms = 0;
            for (double v : h[i]) ms += v * v;
            double inv = 1 / Math.sqrt(ms / h[i].length + eps);
            out[i] = new double[h[i].length];
            for (int j = 0; j < h[i].length; j++) out[i][j] = gain[j] * (h[i][j] * inv);
        }
        return out;
    }

    private static void headNorm(double[][] x, double[] gain, int hd, double eps) {
        for (double[] row : x) {
            for (int off = 0; off < row.length; off += hd) {
                double ms = 0;
                for (int j = 0; j < hd; j++) ms += row[off + j] * row[off + j];
                double inv = 1 / Math.sqrt(ms / hd + eps);
                for (int j = 0; j < hd; j++) row[off + j] = gain[j] * (row[off + j] * inv);
            }
        }
    }

    /** cos/sin of position·inv_freq, duplicated over the two halves (transformers' rotate-half layout). */
    static void rope(JsonNode c, int hd, int t, double[][] cos, double[][] sin) {
        double theta = c.path("rope_theta").asDouble(10000);
        int half = hd / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (float) (2 * i) / hd);
        JsonNode s = c.path("rope_scaling");
        if (s.isObject() && "llama3".equals(s.path("rope_type").asText(s.path("type").asText("")))) {
            // transformers' _compute_llama3_parameters: long wavelengths divided by factor, a smooth ramp in between
            double factor = s.path("factor").asDouble(), low = s.path("low_freq_factor").asDouble(1), high = s.path("high_freq_factor").asDouble(4);
            double old = s.path("original_max_position_embeddings").asDouble(8192);
            double lowWave = old / low, highWave = old / high;
            for (int i = 0; i < half; i++) {
                double wave = 2 * Math.PI / inv[i];
                if (wave > lowWave) inv[i] = inv[i] / factor;
                else if (wave >= highWave) {
                    double smooth = (old / wave - low) / (high - low);
                    inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                }
            }
        }
        // transformers computes the frequencies, angles and their cos/sin in float32 whatever the model's dtype; so
        // does this, or a float64 model would differ from transformers' by float32's rounding of the rotation
        for (int p = 0; p < t; p++) {
            cos[p] = new double[hd];
            sin[p] = new double[hd];
            for (int i = 0; i < half; i++) {
                float a = (float) inv[i] * (float) p;
                cos[p][i] = cos[p][i + half] = (float) Math.cos(a);
                sin[p][i] = sin[p][i + half] = (float) Math.sin(a);
            }
        }
    }

    private static void rotate(double[][] x, double[][] cos, double[][] sin, int hd) {
        int half = hd / 2;
        for (int p = 0; p < x.length; p++) {
            double[] row = x[p];
            for (int off = 0; off < row.length; off += hd) {
                for (int i = 0; i < half; i++) {
                    double a = row[off + i], b = row[off + i + half];
                    row[off + i] = a * cos[p][i] - b * sin[p][i];
                    row[off + i + half] = b * cos[p][i + half] + a * sin[p][i + half];
                }
            }
        }
    }

    /** Causal softmax attention; query head h reads key-value head h / (heads / kv). */
    private static double[][] attention(double[][] q, double[][] k, double[][] v, int heads, int kv, int hd) {
        int t = q.length, group = heads / kv;
        double scale = 1 / Math.sqrt(hd);
        double[][] out = new double[t][heads * hd];
        double[] p = new double[t];
        for (int h = 0; h < heads; h++) {
            int qo = h * hd, ko = (h / group) * hd;
            for (int i = 0; i < t; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double s = 0;
                    for (int e = 0; e < hd; e++) s += q[i][qo + e] * k[j][ko + e];
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) z += p[j] = Math.exp(p[j] - max);
                for (int j = 0; j <= i; j++) {
                    double a = p[j] / z;
                    for (int e = 0; e < hd; e++) out[i][qo + e] += a * v[j][ko + e];
                }
            }
        }
        return out;
    }

    private static void add(double[][] h, double[][] delta) {
        for (int i = 0; i < h.length; i++) for (int j = 0; j < h[i].length; j++) h[i][j] += delta[i][j];
    }
}
