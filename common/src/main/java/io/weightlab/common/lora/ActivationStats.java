package io.weightlab.common.lora;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;

import java.io.IOException;
import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;

/**
 * A module's input-activation statistics, as {@code tools/weightlab_collect.py activations} writes them
 * (docs/activation-stats.md): in a safetensors checkpoint, per module {@code <module>.count} (scalar), and either
 * the centred {@code <module>.mean} [n] and {@code <module>.m2} [n, n] = Σ(x−μ)(x−μ)ᵀ (preferred: merged per batch
 * with Chan's formula, no cancellation) or the raw {@code <module>.sum} [n] and {@code <module>.xtx} [n, n]. Modules
 * that see the same input (q/k/v, gate/up) may be stored once: the metadata key {@code weightlab.shared_input} maps
 * a module to the module whose statistics it shares.
 */
public record ActivationStats(String module, long count, double[] mean, double[] m2, int n) implements Serializable {
    public static final String SHARED_INPUT = "weightlab.shared_input";

    /** The covariance (ddof = 1), row-major n x n. */
    public double[] covariance() {
        double[] c = new double[m2.length];
        for (int i = 0; i < c.length; i++) c[i] = m2[i] / (count - 1);
        return c;
    }

    /** Which stored module's statistics a module uses (itself, or what the shared-input map names). */
    public static Map<String, String> sharedInputs(Checkpoint stats) {
        Map<String, String> out = new HashMap<>();
        for (Checkpoint.Shard s : stats.shards()) {
            String json = s.metadata() == null ? null : s.metadata().get(SHARED_INPUT);
            if (json == null) continue;
            try {
                out.putAll(new ObjectMapper().readValue(json, new TypeReference<Map<String, String>>() {}));
            } catch (IOException e) {
                throw new UsageException(s.file() + ": metadata " + SHARED_INPUT + " is not a JSON object of module names: " + e.getMessage());
            }
        }
        return out;
    }

    public static String source(Map<String, String> shared, String module) {
        return shared.getOrDefault(module, module);
    }

    /** Checks from the header alone that {@code stored}'s statistics exist with the shapes a module of {@code in} inputs needs. */
    public static void validate(Checkpoint stats, String stored, int in) {
        if (stats.tensor(stored + ".count") == null) {
            throw new UsageException(stats.root() + ": no activation statistics for module '" + stored + "' (expected tensors "
                    + stored + ".count and .mean/.m2 or .sum/.xtx; rule: ActivationStatsPresent)");
        }
        boolean centred = stats.tensor(stored + ".m2") != null;
        need(stats, stored + (centred ? ".mean" : ".sum"), new long[] {in});
        need(stats, stored + (centred ? ".m2" : ".xtx"), new long[] {in, in});
    }

    /** Reads and checks the statistics of {@code stored} for a module whose weight has {@code in} columns. */
    public static ActivationStats read(RangeReader reader, Checkpoint stats, String stored, int in) {
        validate(stats, stored, in);
        TensorInfo count = stats.tensor(stored + ".count");
        long c = Math.round(TensorValues.read(reader, count, 0, 1, null)[0]);
        if (c < 2) throw new UsageException(count.file() + ": '" + count.name() + "' = " + c + ": a covariance needs at least 2 tokens (rule: ActivationCount)");
        boolean centred = stats.tensor(stored + ".m2") != null;
        TensorInfo first = need(stats, stored + (centred ? ".mean" : ".sum"), new long[] {in});
        TensorInfo second = need(stats, stored + (centred ? ".m2" : ".xtx"), new long[] {in, in});
        double[] v = requireFinite(first, TensorValues.read(reader, first, 0, first.elementCount(), null));
        double[] m = requireFinite(second, TensorValues.read(reader, second, 0, second.elementCount(), null));
        if (!centred) {
            // Raw sums: XᵀX − count·μμᵀ cancels when |μ| is large against the spread; the helper writes centred m2.
            for (int i = 0; i < in; i++) v[i] /= c;
            for (int i = 0; i < in; i++) for (int j = 0; j < in; j++) m[i * in + j] -= c * v[i] * v[j];
        }
        return new ActivationStats(stored, c, v, m, in);
    }

    private static double[] requireFinite(TensorInfo t, double[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) throw new UsageException(t.file() + ": '" + t.name() + "' holds NaN/Inf at element " + i + " (rule: FiniteValues)");
        }
        return v;
    }

    private static TensorInfo need(Checkpoint stats, String name, long[] shape) {
        TensorInfo t = stats.tensor(name);
        if (t == null) throw new UsageException(stats.root() + ": activation statistics lack '" + name + "' (rule: ActivationStatsPresent)");
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new UsageException(t.file() + ": '" + name + "' has shape " + t.shapeString() + " but the module's weight needs "
                    + java.util.Arrays.toString(shape) + " (rule: ActivationStatsShape)");
        }
        return t;
    }
}
