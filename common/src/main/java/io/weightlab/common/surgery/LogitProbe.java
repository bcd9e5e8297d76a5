package io.weightlab.common.surgery;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * How far an edit moved a decoder's function: the logits of the source and the edited model on the same seeded token
 * sequence ({@link DecoderLogits}, float64), summarised as the largest absolute difference, the relative L2 change,
 * the mean KL(p_source ‖ p_edited) over positions and how often the top-1 token agrees. A lossless edit gives
 * rounding-level numbers; {@code grow --noise-std} reports these in its provenance.
 */
public final class LogitProbe {
    private LogitProbe() {}

    /** {@code count} token ids in [0, vocab), from the seed alone (recorded in the provenance for re-checking). */
    public static int[] tokens(long seed, int count, int vocab) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int[] t = new int[count];
        for (int i = 0; i < count; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    public static Map<String, Object> compare(double[][] before, double[][] after) {
        double maxAbs = 0, maxDiff = 0, diff2 = 0, norm2 = 0, kl = 0;
        int top1 = 0;
        for (int i = 0; i < before.length; i++) {
            double[] a = before[i], b = after[i];
            int argA = 0, argB = 0;
            for (int j = 0; j < a.length; j++) {
                maxAbs = Math.max(maxAbs, Math.abs(a[j]));
                double d = b[j] - a[j];
                maxDiff = Math.max(maxDiff, Math.abs(d));
                diff2 += d * d;
                norm2 += a[j] * a[j];
                if (a[j] > a[argA]) argA = j;
                if (b[j] > b[argB]) argB = j;
            }
            if (argA == argB) top1++;
            double[] la = logSoftmax(a), lb = logSoftmax(b);
            double k = 0;
            for (int j = 0; j < a.length; j++) k += Math.exp(la[j]) * (la[j] - lb[j]);
            kl += Math.max(0, k);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("positions", before.length);
        m.put("max_abs_logit", maxAbs);
        m.put("max_abs_logit_diff", maxDiff);
        m.put("rel_l2_logit_diff", norm2 > 0 ? Math.sqrt(diff2 / norm2) : 0.0);
        m.put("mean_kl", kl / before.length);
        m.put("top1_agreement", (double) top1 / before.length);
        return m;
    }

    private static double[] logSoftmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : x) max = Math.max(max, v);
        double z = 0;
        for (double v : x) z += Math.exp(v - max);
        double lz = max + Math.log(z);
        double[] out = new double[x.length];
        for (int j = 0; j < x.length; j++) out[j] = x[j] - lz;
        return out;
    }

    /** A checkpoint's rows read by ranged reads (a 1-D tensor is one row). */
    public static DecoderLogits.Weights weights(Checkpoint ckpt, RangeReader reader) {
        return new DecoderLogits.Weights() {
            @Override public boolean has(String name) { return ckpt.tensor(name) != null; }

            @Override public long[] shape(String name) { return tensor(name).shape(); }

            @Override
            public double[] rows(String name, long first, int count) {
                TensorInfo t = tensor(name);
                long width = t.rank() == 1 ? t.dim(0) : t.rowElements();
                return TensorValues.read(reader, t, first * width, (first + count) * width, null);
            }

            private TensorInfo tensor(String name) {
                TensorInfo t = ckpt.tensor(name);
                if (t == null) throw new IllegalArgumentException(ckpt.root() + ": no '" + name + "' for the logit probe");
                return t;
            }
        };
    }

    /** The probe of two checkpoints with their configs; the facts the provenance records. */
    public static Map<String, Object> run(JsonNode sourceConfig, Checkpoint source, JsonNode editedConfig, Checkpoint edited,
                                          RangeReader reader, long seed, int count) {
        int vocab = Math.min(sourceConfig.path("vocab_size").asInt(), (int) source.tensor("model.embed_tokens.weight").dim(0));
        int[] tokens = tokens(seed, count, vocab);
        Map<String, Object> m = compare(DecoderLogits.logits(sourceConfig, weights(source, reader), tokens),
                DecoderLogits.logits(editedConfig, weights(edited, reader), tokens));
        m.put("tokens", tokens);
        return m;
    }
}
