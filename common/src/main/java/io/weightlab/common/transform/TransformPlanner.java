package io.weightlab.common.transform;

import io.weightlab.common.model.DType;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.error.UsageException;
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
 * when a method zeroes the bias of what it rescaled (TVR, LSUV). Every rule must match some tensor: a rule that
 * matches none is a misspelling, and running without it would write an unchanged copy.
 */
public final class TransformPlanner {
    /** The decision for one tensor. {@code rule} is null for tensors no rule covers. */
    public record Planned(TensorInfo tensor, String rule, TensorAction action, String why, DType outDType) implements Serializable {
        /** A tensor whose values change must be written in a dtype the encoder can produce. */
        public Planned {
            if (action.changesValues() && !ElementEncoder.canEncode(outDType)) {
                throw new UsageException(tensor.file() + ": '" + tensor.name() + "' is stored as " + tensor.dtype() + " and rule '" + rule
                        + "' changes it: pass --out-dtype F32|BF16|F16|F64 to choose how to write it (rule: EncodableOutput)");
            }
        }

        public boolean copiesBytes() {
            return !action.changesValues() && outDType == tensor.dtype();
        }

        /** A tensor the job computes (no stored bytes of its own), written in {@code dtype}. */
        public static Planned computed(String name, DType dtype, long[] shape, String rule, TensorAction action, String why) {
            return new Planned(new TensorInfo(name, dtype, shape, null, 0, 0), rule, action, why, dtype);
        }
    }

    private final List<TensorInfo> tensors;
    private final List<ApplyRule> rules;
    private final TensorContext.Layout layout;
    private final long seed;
    private final DType outDType;
    private final int numLayers;

    public TransformPlanner(List<TensorInfo> tensors, List<ApplyRule> rules, TensorContext.Layout layout, long seed, DType outDType) {
        if (outDType != null && !ElementEncoder.canEncode(outDType)) {
            throw new UsageException("--out-dtype " + outDType + ": writable dtypes are F64, F32, BF16, F16");
        }
        this.tensors = List.copyOf(tensors);
        this.rules = List.copyOf(rules);
        List<String> names = tensors.stream().map(TensorInfo::name).toList();
        for (ApplyRule r : rules) r.selector().requireMatch("--apply '" + r.text() + "'", names);
        this.layout = layout;
        this.seed = seed;
        this.outDType = outDType;
        this.numLayers = numLayers(tensors);
        checkEveryRuleSelects(tensors, rules);
    }

    /**
     * Every rule must also be the first match of some tensor: a rule whose tensors an earlier rule all takes never
     * applies (the first matching rule wins), which is as silent as a rule that matches nothing.
     */
    static void checkEveryRuleSelects(List<TensorInfo> tensors, List<ApplyRule> rules) {
        for (int i = 1; i < rules.size(); i++) {
            ApplyRule r = rules.get(i);
            List<String> matched = tensors.stream().map(TensorInfo::name).filter(r::matches).toList();
            List<ApplyRule> earlier = rules.subList(0, i);
            if (matched.stream().allMatch(n -> earlier.stream().anyMatch(e -> e.matches(n)))) {
                String first = earlier.stream().filter(e -> matched.stream().anyMatch(e::matches)).map(ApplyRule::text).findFirst().orElse("?");
                throw new UsageException("--apply '" + r.text() + "': every tensor it matches is taken by the earlier rule '" + first
                        + "' (the first matching rule wins; put the narrower rule first)");
            }
        }
    }

    /** The model's block count, as the depth rules (gpt2) see it. */
    public int numLayers() { return numLayers; }

    public ApplyRule ruleFor(String name) {
        for (ApplyRule r : rules) if (r.matches(name)) return r;
        return null;
    }

    /** The block count: one more than the highest block index in the most common block stack. */
    private static int numLayers(List<TensorInfo> tensors) {
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
    public List<TensorInfo> needingMoments() {
        List<TensorInfo> out = new ArrayList<>();
        for (TensorInfo t : tensors) {
            ApplyRule r = ruleFor(t.name());
            if (r != null && r.method().needsMoments(TensorContext.of(t, layout, numLayers, seed, null))) out.add(t);
        }
        return out;
    }

    public List<Planned> plan(Map<String, MomentAccumulator> moments) {
        boolean quantized = tensors.stream().anyMatch(t -> TensorName.parse(t.name()).role() == ModuleKind.Role.QUANTIZATION);
        Map<String, Planned> plans = new LinkedHashMap<>();
        List<String> zeroBiasOf = new ArrayList<>();
        for (TensorInfo t : tensors) {
            ApplyRule r = ruleFor(t.name());
            if (r == null) {
                plans.put(t.name(), planned(t, null, KeepAction.INSTANCE, "no rule matches", quantized));
                continue;
            }
            TransformPlan p = r.method().plan(TensorContext.of(t, layout, numLayers, seed, moments.get(t.name())));
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
        return new Planned(t, rule, action, why, outDType != null && floating ? outDType : t.dtype());
    }
}
