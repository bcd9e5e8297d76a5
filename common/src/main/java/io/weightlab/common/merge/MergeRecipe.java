package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.DType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A mergekit recipe read as-is (docs/algorithms.md "Model merging: recipes"): {@code merge_method}, {@code base_model},
 * {@code models} with per-model {@code parameters}, top-level {@code parameters}, {@code dtype}, {@code out_dtype},
 * {@code tokenizer_source: base}. Every other key, and every feature WeightLab does not implement, is an error naming
 * the key: a recipe is never half-applied.
 */
public record MergeRecipe(String source, String method, String baseModel, List<Model> models, Map<String, JsonNode> parameters,
                          DType dtype, DType outDType, List<Model> stack) implements Serializable {

    /** One {@code models:} entry: its URI and its own parameters (raw, resolved per tensor). */
    public record Model(String uri, Map<String, JsonNode> parameters, int[] layerRange) implements Serializable {}

    private static final List<String> TOP_KEYS = List.of("merge_method", "base_model", "models", "parameters", "dtype", "out_dtype",
            "tokenizer_source", "tokenizer", "slices", "modules", "name", "random_seed");
    private static final Set<String> NOT_YET = Set.of("modules", "tokenizer");

    /** Parses a recipe's YAML tree; {@code source} names the file in errors. */
    public static MergeRecipe parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) throw new UsageException(source + ": a merge recipe is a YAML mapping");
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!TOP_KEYS.contains(k)) {
                throw new UsageException(source + ": unknown key '" + k + "'" + Suggestions.didYouMean(k, TOP_KEYS) + "; keys: merge_method, base_model, models, parameters, dtype, out_dtype, tokenizer_source");
            }
            if (NOT_YET.contains(k)) {
                throw new UsageException(source + ": '" + k + "' is not supported" + (k.equals("tokenizer") ? " (tokenizer surgery); the tokenizer is copied from the base model"
                        : "; give the merge as 'models:', or layer stacking as 'slices:' with merge_method: passthrough"));
            }
            if (k.equals("random_seed")) throw new UsageException(source + ": 'random_seed' is a mergekit option, not a recipe key; pass --seed");
        }
        String method = text(root, "merge_method", source);
        if (method == null) throw new UsageException(source + ": 'merge_method' is required (e.g. ties, dare_ties, slerp)");
        JsonNode tok = root.get("tokenizer_source");
        if (tok != null && !tok.isNull() && !tok.asText().equals("base")) {
            throw new UsageException(source + ": tokenizer_source '" + tok.asText() + "' is not supported; only 'base' (the tokenizer files are copied from the base model)");
        }
        String base = text(root, "base_model", source);
        JsonNode ms = root.get("models");
        List<String> entryKeys = List.of("model", "parameters");
        if (root.has("slices") && "passthrough".equals(method)) {
            if (ms != null) throw new UsageException(source + ": give either 'models' or 'slices', not both");
            List<Model> stack = stackSlices(root.get("slices"), source);
            return new MergeRecipe(source, method, base, stack, mapping(root.get("parameters"), source + ": parameters"),
                    dtype(root, "dtype", source), dtype(root, "out_dtype", source), stack);
        }
        if (root.has("slices")) {
            // One slice whose sources all span every layer is the same merge as models: (mergekit's gradient-slerp example).
            if (ms != null) throw new UsageException(source + ": give either 'models' or 'slices', not both");
            JsonNode sl = root.get("slices");
            if (!sl.isArray() || sl.size() != 1) {
                throw new UsageException(source + ": 'slices' with " + (sl.isArray() ? sl.size() : 0) + " slices: only one slice over all layers is supported for " + method + " (layer stacking is merge_method: passthrough)");
            }
            for (Iterator<String> it = sl.get(0).fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("sources")) throw new UsageException(source + ": unknown key '" + k + "' in a slice; keys: sources");
            }
            ms = sl.get(0).get("sources");
            entryKeys = List.of("model", "parameters", "layer_range");
        }
        if (ms == null || !ms.isArray() || ms.isEmpty()) throw new UsageException(source + ": 'models' must be a non-empty list of {model, parameters}");
        List<Model> models = new ArrayList<>();
        for (JsonNode m : ms) {
            int[] range = null;
            String uri;
            Map<String, JsonNode> params = Map.of();
            if (m.isTextual()) uri = m.asText();
            else if (m.isObject()) {
                for (Iterator<String> it = m.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (!entryKeys.contains(k)) {
                        throw new UsageException(source + ": unknown key '" + k + "' in a models entry" + Suggestions.didYouMean(k, entryKeys) + "; keys: " + String.join(", ", entryKeys));
                    }
                }
                JsonNode lr = m.get("layer_range");
                if (lr != null) {
                    if (!lr.isArray() || lr.size() != 2 || !lr.get(0).isInt() || !lr.get(1).isInt()) throw new UsageException(source + ": layer_range must be [start, end]");
                    range = new int[] {lr.get(0).asInt(), lr.get(1).asInt()};
                }
                uri = text(m, "model", source);
                if (uri == null) throw new UsageException(source + ": a models entry without 'model'");
                params = mapping(m.get("parameters"), source + ": parameters of " + uri);
            } else throw new UsageException(source + ": a models entry must be a mapping {model, parameters}");
            if (uri.contains("+")) throw new UsageException(source + ": model '" + uri + "': 'model+lora' references are not supported; merge the adapter first");
            models.add(new Model(uri, params, range));
        }
        return new MergeRecipe(source, method, base, List.copyOf(models), mapping(root.get("parameters"), source + ": parameters"),
                dtype(root, "dtype", source), dtype(root, "out_dtype", source), null);
    }

    /** passthrough's slices, in order: each exactly one source with its layer_range [start, end) (layer stacking). */
    private static List<Model> stackSlices(JsonNode sl, String source) {
        if (!sl.isArray() || sl.isEmpty()) throw new UsageException(source + ": 'slices' must be a non-empty list of {sources: [...]}");
        List<Model> out = new ArrayList<>();
        for (JsonNode slice : sl) {
            if (!slice.isObject()) throw new UsageException(source + ": a slice must be a mapping {sources: [...]}");
            for (Iterator<String> it = slice.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("sources")) throw new UsageException(source + ": unknown key '" + k + "' in a slice; keys: sources");
            }
            JsonNode src = slice.get("sources");
            if (src == null || !src.isArray() || src.size() != 1) {
                throw new UsageException(source + ": passthrough takes exactly one source per slice, got " + (src == null || !src.isArray() ? 0 : src.size()));
            }
            JsonNode m = src.get(0);
            if (!m.isObject()) throw new UsageException(source + ": a slice source must be a mapping {model, layer_range, parameters}");
            for (Iterator<String> it = m.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                List<String> keys = List.of("model", "layer_range", "parameters");
                if (!keys.contains(k)) throw new UsageException(source + ": unknown key '" + k + "' in a slice source" + Suggestions.didYouMean(k, keys) + "; keys: model, layer_range, parameters");
            }
            String uri = text(m, "model", source);
            if (uri == null) throw new UsageException(source + ": a slice source without 'model'");
            if (uri.contains("+")) throw new UsageException(source + ": model '" + uri + "': 'model+lora' references are not supported; merge the adapter first");
            JsonNode lr = m.get("layer_range");
            if (lr == null || !lr.isArray() || lr.size() != 2 || !lr.get(0).isInt() || !lr.get(1).isInt() || lr.get(0).asInt() < 0 || lr.get(1).asInt() <= lr.get(0).asInt()) {
                throw new UsageException(source + ": layer_range of " + uri + " must be [start, end] with 0 <= start < end");
            }
            out.add(new Model(uri, mapping(m.get("parameters"), source + ": parameters of " + uri), new int[] {lr.get(0).asInt(), lr.get(1).asInt()}));
        }
        return List.copyOf(out);
    }

    private static String text(JsonNode n, String key, String source) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new UsageException(source + ": '" + key + "' must be text, got " + v);
        return v.asText();
    }

    private static Map<String, JsonNode> mapping(JsonNode n, String where) {
        if (n == null || n.isNull()) return Map.of();
        if (!n.isObject()) throw new UsageException(where + " must be a mapping of name: value");
        Map<String, JsonNode> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** mergekit's dtype names (float32, bfloat16, float16, float64) and ours (F32, BF16, F16, F64). */
    static DType dtype(JsonNode root, String key, String source) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return null;
        String s = v.asText().toLowerCase(Locale.ROOT);
        DType d = switch (s) {
            case "float32", "fp32", "f32" -> DType.F32;
            case "bfloat16", "bf16" -> DType.BF16;
            case "float16", "fp16", "f16", "half" -> DType.F16;
            case "float64", "f64" -> DType.F64;
            default -> null;
        };
        if (d == null) throw new UsageException(source + ": " + key + " '" + v.asText() + "' is not one of float32, bfloat16, float16, float64");
        return d;
    }
}
