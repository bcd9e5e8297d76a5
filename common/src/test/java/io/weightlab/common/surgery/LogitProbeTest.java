package io.weightlab.common.surgery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Closed forms for the probe's summary and for the forward of a decoder whose blocks write nothing. */
class LogitProbeTest {
    @Test
    void summaryOfTwoKnownDistributions() {
        // p = (1/2, 1/2), q = softmax(0, ln 3) = (1/4, 3/4): KL = ½ ln 2 + ½ ln(2/3); top-1 differs
        Map<String, Object> m = LogitProbe.compare(new double[][] {{0, 0}}, new double[][] {{0, Math.log(3)}});
        assertEquals(0.5 * Math.log(2) + 0.5 * Math.log(2.0 / 3), (Double) m.get("mean_kl"), 1e-15);
        assertEquals(Math.log(3), (Double) m.get("max_abs_logit_diff"), 1e-15);
        assertEquals(0.0, (Double) m.get("top1_agreement"));
        Map<String, Object> same = LogitProbe.compare(new double[][] {{1, -2, 3}}, new double[][] {{1, -2, 3}});
        assertEquals(0.0, (Double) same.get("mean_kl"));
        assertEquals(1.0, (Double) same.get("top1_agreement"));
    }

    @Test
    void blocksThatWriteNothingLeaveTheNormedEmbeddingTimesTheHead() {
        int v = 11, d = 8, inter = 12, layers = 2;
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "llama").put("hidden_size", d).put("num_attention_heads", 2).put("num_key_value_heads", 1)
                .put("intermediate_size", inter).put("num_hidden_layers", layers).put("rms_norm_eps", 1e-6).put("vocab_size", v);
        SplittableRandom r = new SplittableRandom(3);
        Map<String, double[]> values = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        java.util.function.BiConsumer<String, long[]> put = (name, shape) -> {
            int n = 1;
            for (long s : shape) n *= (int) s;
            double[] x = new double[n];
            boolean zero = name.contains("o_proj") || name.contains("down_proj");
            for (int i = 0; i < n; i++) x[i] = zero ? 0 : r.nextGaussian();
            values.put(name, x);
            shapes.put(name, shape);
        };
        put.accept("model.embed_tokens.weight", new long[] {v, d});
        put.accept("lm_head.weight", new long[] {v, d});
        put.accept("model.norm.weight", new long[] {d});
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            for (String n : new String[] {"input_layernorm", "post_attention_layernorm"}) put.accept(p + n + ".weight", new long[] {d});
            put.accept(p + "self_attn.q_proj.weight", new long[] {d, d});
            put.accept(p + "self_attn.k_proj.weight", new long[] {d / 2, d});
            put.accept(p + "self_attn.v_proj.weight", new long[] {d / 2, d});
            put.accept(p + "self_attn.o_proj.weight", new long[] {d, d});
            put.accept(p + "mlp.gate_proj.weight", new long[] {inter, d});
            put.accept(p + "mlp.up_proj.weight", new long[] {inter, d});
            put.accept(p + "mlp.down_proj.weight", new long[] {d, inter});
        }
        DecoderLogits.Weights w = new DecoderLogits.Weights() {
            public boolean has(String name) { return values.containsKey(name); }
            public long[] shape(String name) { return shapes.get(name); }
            public double[] rows(String name, long first, int count) {
                long[] s = shapes.get(name);
                int width = s.length == 1 ? (int) s[0] : (int) s[1];
                return java.util.Arrays.copyOfRange(values.get(name), (int) first * width, (int) (first + count) * width);
            }
        };
        int[] tokens = {4, 0, 10};
        double[][] got = DecoderLogits.logits(c, w, tokens);
        double[] e = values.get("model.embed_tokens.weight"), g = values.get("model.norm.weight"), head = values.get("lm_head.weight");
        for (int t = 0; t < tokens.length; t++) {
            double ms = 0;
            for (int j = 0; j < d; j++) ms += e[tokens[t] * d + j] * e[tokens[t] * d + j];
            double inv = 1 / Math.sqrt(ms / d + 1e-6);
            double[] expected = new double[v];
            for (int o = 0; o < v; o++) for (int j = 0; j < d; j++) expected[o] += head[o * d + j] * g[j] * e[tokens[t] * d + j] * inv;
            assertArrayEquals(expected, got[t], 1e-12);
        }
    }

    @Test
    void onlyTheFamiliesItReproducesAreRun() {
        ObjectMapper json = new ObjectMapper();
        assertNull(DecoderLogits.unsupported(json.createObjectNode().put("model_type", "qwen2")));
        assertNotNull(DecoderLogits.unsupported(json.createObjectNode().put("model_type", "mixtral")));
        ObjectNode yarn = json.createObjectNode().put("model_type", "llama");
        yarn.putObject("rope_scaling").put("rope_type", "yarn");
        assertNotNull(DecoderLogits.unsupported(yarn));
        // the seeded tokens depend on the seed only
        assertArrayEquals(LogitProbe.tokens(5, 8, 100), LogitProbe.tokens(5, 8, 100));
    }
}
