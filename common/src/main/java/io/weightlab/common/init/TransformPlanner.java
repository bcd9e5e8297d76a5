package io.weightlab.common.init;

import io.weightlab.common.io.DType;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.stats.MomentAccumulator;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides, on the driver, what happens to every tensor of a checkpoint: which rule covers it, whether its moments
 * must be measured first, the action its writer runs, and the dtype it is written in. A bias follows its weight
 * when a method zeroes the bias of what it rescaled (TVR, LSUV).
 */
public final class TransformPlanner {
    /** The decision for one tensor. {@code rule} is null for tensors no rule covers. */
    public record Planned(TensorInfo tensor, String rule, TensorAction action, String why, DType outDType) implements Serializable {
        public boolean copiesBytes() {
            return !action.changesValues() && outDType == tensor.dtype();
        }
    }

    private final List<ApplyRule> rules;
    private final TensorContext.Layout layout;
    private final long seed;
    private final DType outDType;

    public TransformPlanner(List<ApplyRule> rules, TensorContext.Layout layout, long seed, DType outDType) {
        if (outDType != null && !ElementEncoder.canEncode(outDType)) {
            throw new UsageException("--out-dtype " + outDType + ": writable dtypes are F64, F32, BF16, F16");
        }
        this.rules = List.copyOf(rules);
        this.layout = layout;
        this.seed = seed;
        this.outDType = outDType;
    }

    public ApplyRule ruleFor(String name) {
        for (ApplyRule r : rules) if (r.matches(name)) return r;
        return null;
    }

    /** The block count: one more than the highest block index in the most common block stack. */
    public static int numLayers(List<TensorInfo> tensors) {
        Map<String, Integer> max = new HashMap<>();
        Map<String, Integer> count = new HashMap<>();
        for (TensorInfo t : tensors) {
            TensorName n = TensorName.parse(t.name());
            if (n.stack() == null || n.layer() == null) continue;
            max.merge(n.stack(), n.layer(), Math::max);
            count.merge(n.stack(), 1, Integer::sum);
        }
        String main = null;
        for (String s : count.keySet()) if (main == null || count.get(s) > count.get(main)) main = s;
        return main == null ? 0 : max.get(main) + 1;
    }

    /** The tensors whose moments must be measured before planning. */
    public List<TensorInfo> needingMoments(List<TensorInfo> tensors) {
        int layers = numLayers(tensors);
        List<TensorInfo> out = new ArrayList<>();
        for (TensorInfo t : tensors) {
            ApplyRule r = ruleFor(t.name());
            if (r != null && r.method().needsMoments(TensorContext.of(t, layout, layers, seed, null))) out.add(t);
        }
        return out;
    }

    public List<Planned> plan(List<TensorInfo> tensors, Map<String, MomentAccumulator> moments) {
        int layers = numLayers(tensors);
        boolean quantized = tensors.stream().anyMatch(t -> TensorName.parse(t.name()).role() == ModuleKind.Role.QUANTIZATION);
        Map<String, Planned> plans = new LinkedHashMap<>();
        List<String> zeroBiasOf = new ArrayList<>();
        for (TensorInfo t : tensors) {
            ApplyRule r = ruleFor(t.name());
            if (r == null) {
                plans.put(t.name(), planned(t, null, KeepAction.INSTANCE, "no rule matches", quantized));
                continue;
            }
            TransformPlan p = r.method().plan(TensorContext.of(t, layout, layers, seed, moments.get(t.name())));
            plans.put(t.name(), planned(t, r.text(), p.action(), p.why(), quantized));
            if (p.zeroesBias() && t.name().endsWith(".weight")) zeroBiasOf.add(t.name());
        }
        for (String w : zeroBiasOf) {
            String bias = w.substring(0, w.length() - ".weight".length()) + ".bias";
            Planned b = plans.get(bias);
            if (b != null && !b.action().changesValues()) {
                plans.put(bias, planned(b.tensor(), plans.get(w).rule(), new ConstantAction(0.0), "bias of a rescaled module, zeroed", quantized));
            }
        }
        return new ArrayList<>(plans.values());
    }

    private Planned planned(TensorInfo t, String rule, TensorAction action, String why, boolean quantized) {
        boolean floating = t.dtype().isFloatingPoint() && t.dtype().isDecodable();
        if (quantized && (outDType != null || action.changesValues())) {
            throw new UsageException(t.file() + ": '" + t.name() + "': the checkpoint is quantized (it has scale tensors); "
                    + "rescaling or casting it would rewrite raw quantized values. Dequantize it first.");
        }
        DType out = outDType != null && floating ? outDType : t.dtype();
        if (action.changesValues() && !ElementEncoder.canEncode(out)) {
            throw new UsageException(t.file() + ": '" + t.name() + "' is stored as " + t.dtype() + " and rule '" + rule
                    + "' changes it: pass --out-dtype F32|BF16|F16|F64 to choose how to write it");
        }
        return new Planned(t, rule, action, why, out);
    }
}
