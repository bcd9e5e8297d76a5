package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.error.UsageException;

/**
 * A mergekit parameter value as written in a recipe, resolved for one tensor: a number, a flag, a gradient list
 * ({@code [0, 0.5, 1]}, interpolated over the layer position t) or a filter list ({@code [{filter: self_attn,
 * value: 0.3}, {value: 0.7}]}: the first entry whose filter is a substring of the tensor name wins; none matching
 * falls through to the next level). docs/algorithms.md "Model merging: recipes".
 */
public final class RecipeValue {
    private RecipeValue() {}

    /** The value for {@code tensor} at layer position {@code t} in [0, 1], as text, or null when no filter matches. */
    public static String resolve(JsonNode v, String tensor, double t, String where) {
        if (v == null || v.isNull()) return null;
        if (v.isNumber() || v.isBoolean() || v.isTextual()) return v.asText();
        if (v.isArray()) {
            if (v.size() == 0) throw new UsageException(where + ": an empty list");
            if (v.get(0).isObject()) {
                for (JsonNode f : v) {
                    if (!f.isObject()) throw new UsageException(where + ": a filter list holds only {filter, value} mappings");
                    f.fieldNames().forEachRemaining(k -> {
                        if (!k.equals("filter") && !k.equals("value")) throw new UsageException(where + ": unknown key '" + k + "' in a filter entry (keys: filter, value)");
                    });
                    JsonNode filter = f.get("filter");
                    if (filter == null || filter.isNull() || filter.asText().equals("*") || tensor.contains(filter.asText())) {
                        if (!f.has("value")) throw new UsageException(where + ": filter entry without 'value'");
                        return resolve(f.get("value"), tensor, t, where);
                    }
                }
                return null;
            }
            double[] g = new double[v.size()];
            for (int i = 0; i < g.length; i++) {
                if (!v.get(i).isNumber()) throw new UsageException(where + ": gradient entries must be numbers, got '" + v.get(i) + "'");
                g[i] = v.get(i).asDouble();
            }
            return Double.toString(gradient(g, t));
        }
        throw new UsageException(where + ": a value must be a number, a flag, a gradient list or a filter list, not a mapping");
    }

    /** mergekit's gradient: s = t(m−1), i0 = ⌊s⌋, i1 = min(m−1, i0+1), v[i0] + (s − i0)(v[i1] − v[i0]). */
    public static double gradient(double[] v, double t) {
        int m = v.length;
        if (m == 1) return v[0];
        double s = t * (m - 1);
        int i0 = (int) Math.floor(s);
        i0 = Math.max(0, Math.min(m - 1, i0));
        int i1 = Math.min(m - 1, i0 + 1);
        return v[i0] + (s - i0) * (v[i1] - v[i0]);
    }

    /** Layer position: k/(L−1) for layer k of L (1 when L = 1); 0 outside the block stack (embeddings, final norm, head). */
    public static double layerPosition(Integer layer, int layers) {
        if (layer == null) return 0;
        return layers <= 1 ? 1 : (double) layer / (layers - 1);
    }
}
