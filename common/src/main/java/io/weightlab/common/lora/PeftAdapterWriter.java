package io.weightlab.common.lora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.weightlab.common.model.DType;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.SafetensorsWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A PEFT LoRA adapter directory (docs/algorithms.md §4): {@code adapter_config.json} (sorted keys, indent 2, as
 * save_pretrained writes it, {@code init_lora_weights: true} so PEFT never re-decomposes on load) and
 * {@code adapter_model.safetensors} (float32 A/B under PEFT's keys, metadata {"format":"pt"}), streamed one
 * module's factors at a time from the factor files.
 */
public final class PeftAdapterWriter {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";

    /** What goes into adapter_config.json besides the modules. */
    public record Settings(String baseModel, int r, double alpha, boolean rslora, Map<String, Integer> rankPattern,
                           Map<String, Double> alphaPattern, String taskType, List<String> targetModules, boolean fanInFanOut) {}

    private PeftAdapterWriter() {}

    public static String configJson(Settings s) throws IOException {
        Map<String, Object> c = new TreeMap<>();
        c.put("peft_type", "LORA");
        c.put("task_type", s.taskType());
        c.put("base_model_name_or_path", s.baseModel());
        c.put("r", s.r());
        c.put("lora_alpha", s.alpha() == Math.rint(s.alpha()) ? (Object) (long) s.alpha() : (Object) s.alpha());
        List<String> targets = s.targetModules();
        // all-linear and a regex are strings (PEFT full-matches a string against module paths), names a list
        boolean asString = targets.size() == 1 && (targets.get(0).equals("all-linear") || LoraTargets.isRegex(targets));
        c.put("target_modules", asString ? targets.get(0) : new ArrayList<>(new TreeSet<>(targets)));
        c.put("init_lora_weights", true);
        c.put("use_rslora", s.rslora());
        c.put("rank_pattern", s.rankPattern() == null ? Map.of() : s.rankPattern());
        c.put("alpha_pattern", s.alphaPattern() == null ? Map.of() : s.alphaPattern());
        c.put("fan_in_fan_out", s.fanInFanOut());
        c.put("bias", "none");
        c.put("lora_dropout", 0.0);
        c.put("inference_mode", true);
        c.put("use_dora", false);
        c.put("modules_to_save", null);
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                .writeValueAsString(c);
    }

    /** Streams every module's A and B from its factor file into one safetensors file. */
    public static void writeWeights(OutputStream os, List<LoraModule> modules, Map<String, String> factorFiles, RangeReader reader) throws IOException {
        List<SafetensorsLayout.Spec> specs = new ArrayList<>();
        Map<String, LoraModule> byKey = new HashMap<>();
        for (LoraModule m : modules) {
            specs.add(new SafetensorsLayout.Spec(m.keyA(), DType.F32, new long[] {m.r(), m.in()}));
            specs.add(new SafetensorsLayout.Spec(m.keyB(), DType.F32, new long[] {m.out(), m.r()}));
            byKey.put(m.keyA(), m);
            byKey.put(m.keyB(), m);
        }
        SafetensorsLayout layout = SafetensorsLayout.of(specs, Map.of("format", "pt"));
        try (SafetensorsWriter w = new SafetensorsWriter(os, layout, WEIGHTS)) {
            for (SafetensorsLayout.Entry e : layout.entries()) {
                LoraModule m = byKey.get(e.spec().name());
                boolean isA = e.spec().name().equals(m.keyA());
                long offset = isA ? 0 : 4L * m.r() * m.in();
                w.transfer(reader, factorFiles.get(m.module()), offset, e.end() - e.begin());
            }
            w.finish();
        }
    }
}
