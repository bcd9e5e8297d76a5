package io.weightlab.common.lora;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which modules get an adapter and with which rank, in PEFT's vocabulary: {@code target_modules} as a list of names
 * matched exactly or as a dotted suffix, one regex (full match), or {@code all-linear} (every 2-D weight but
 * embeddings, norms and the output head); {@code rank_pattern}/{@code alpha_pattern} keys match a module when
 * {@code (.*\.)?(key)$} does, first key first; s = α/r, or α/√r with rslora. Unlike PEFT, which only refuses a
 * list that matches nothing at all, every listed name must match some module.
 */
public final class LoraTargets {
    private LoraTargets() {}

    public static List<LoraModule> resolve(List<TensorInfo> tensors, List<String> targets, int r, double alpha, boolean rslora,
                                           Map<String, Integer> rankPattern, Map<String, Double> alphaPattern) {
        return resolve(tensors, targets, r, alpha, rslora, rankPattern, alphaPattern, false);
    }

    /** {@code fanInFanOut}: targeted weights are stored [in, out] (GPT-2 Conv1D). */
    public static List<LoraModule> resolve(List<TensorInfo> tensors, List<String> targets, int r, double alpha, boolean rslora,
                                           Map<String, Integer> rankPattern, Map<String, Double> alphaPattern, boolean fanInFanOut) {
        if (targets.isEmpty()) throw new UsageException("--target-modules is required (names, a regex, or all-linear)");
        boolean allLinear = targets.size() == 1 && targets.get(0).equals("all-linear");
        Pattern regex = isRegex(targets) ? Pattern.compile(targets.get(0)) : null;
        List<LoraModule> out = new ArrayList<>();
        Set<String> unmatched = new LinkedHashSet<>(allLinear || regex != null ? List.of() : targets);
        Set<String> leaves = new LinkedHashSet<>();
        for (TensorInfo t : tensors) {
            if (t.rank() != 2 || !t.name().endsWith(".weight")) continue;
            String module = t.name().substring(0, t.name().length() - ".weight".length());
            leaves.add(module.substring(module.lastIndexOf('.') + 1));
            boolean hit;
            if (allLinear) {
                TensorName n = TensorName.parse(t.name());
                ModuleKind.Role role = n.role();
                hit = n.isAnalysable() && role != ModuleKind.Role.EMBEDDING && role != ModuleKind.Role.HEAD && role != ModuleKind.Role.NORM;
            } else if (regex != null) {
                hit = regex.matcher(module).matches();
            } else {
                hit = false;
                for (String k : targets) {
                    if (module.equals(k) || module.endsWith("." + k)) {
                        hit = true;
                        unmatched.remove(k);
                    }
                }
            }
            if (!hit) continue;
            int rr = patternValue(rankPattern, module, r);
            double a = patternValue(alphaPattern, module, alpha);
            if (rr < 1 || rr > Math.min(t.dim(0), t.dim(1))) {
                throw new UsageException(t.file() + ": '" + t.name() + "' " + t.shapeString() + ": rank " + rr + " must be in [1, " + Math.min(t.dim(0), t.dim(1)) + "]");
            }
            if (!t.dtype().isFloatingPoint()) {
                throw new UsageException(t.file() + ": '" + t.name() + "' is " + t.dtype() + ": LoRA init needs a floating-point base (dequantize first)");
            }
            out.add(new LoraModule(t, module, rr, a, rslora ? a / Math.sqrt(rr) : a / rr, fanInFanOut));
        }
        // Every name must select something: a misspelled one among others would silently get no adapter.
        if (out.isEmpty() || !unmatched.isEmpty()) {
            throw new UsageException("--target-modules " + String.join(",", out.isEmpty() ? targets : List.copyOf(unmatched))
                    + " matches no 2-D weight; module names of the 2-D weights here: " + String.join(", ", leaves)
                    + " (or all-linear, or one regex on the module path)");
        }
        return out;
    }

    /** One target with regex characters is a regex on the module path (PEFT: a string target_modules is full-matched). */
    public static boolean isRegex(List<String> targets) {
        return targets.size() == 1 && !targets.get(0).equals("all-linear") && targets.get(0).matches(".*[\\\\\\[\\]()*+?|^$].*");
    }

    public static <T> T patternValue(Map<String, T> pattern, String module, T dflt) {
        if (pattern == null) return dflt;
        for (Map.Entry<String, T> e : pattern.entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) return e.getValue();
        }
        return dflt;
    }
}
