package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The page of a fleet dataset ({@code report --fleet}; {@link ReportPage}): per module kind the trend of std, excess
 * kurtosis and max|x|/std across the checkpoints (a numeric step axis with lines when every checkpoint has a step,
 * else points per checkpoint, no lines between unrelated models), a layer x checkpoint heatmap, and every checkpoint
 * in a sortable table with its whole-model numbers and NaN/Inf counts. The data are the dataset's roll-up rows.
 */
public final class FleetReport {
    private FleetReport() {}

    /** @param rows the dataset's rows of levels model, module_kind and layer, each with model, step and checkpoint_uri */
    public static String render(String dataset, List<Map<String, Object>> rows) {
        Comparator<Map<String, Object>> order = Comparator.comparing((Map<String, Object> r) -> String.valueOf(r.get("model")))
                .thenComparing(r -> (Long) r.get("step"), Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(r -> String.valueOf(r.get("checkpoint_uri")));
        List<Map<String, Object>> checkpoints = new ArrayList<>(), kinds = new ArrayList<>(), layers = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            switch (String.valueOf(r.get("level"))) {
                case "model" -> checkpoints.add(slim(r, "tensors", "elements", "mean", "std", "kurtosis_excess", "outlier_ratio", "l2", "nan_count", "inf_count"));
                case "module_kind" -> kinds.add(slim(r, "name", "std", "kurtosis_excess", "outlier_ratio"));
                case "layer" -> {
                    if (!"(none)".equals(r.get("name"))) layers.add(slim(r, "name", "std", "kurtosis_excess"));
                }
                default -> { }
            }
        }
        checkpoints.sort(order);
        Set<String> models = new LinkedHashSet<>();
        long withNonFinite = 0;
        for (Map<String, Object> c : checkpoints) {
            models.add(String.valueOf(c.get("model")));
            if (num(c.get("nan_count")) + num(c.get("inf_count")) > 0) withNonFinite++;
        }
        StringBuilder h = new StringBuilder(16 * 1024);
        h.append("<table class=\"facts\">");
        ReportPage.fact(h, "dataset", dataset);
        ReportPage.fact(h, "checkpoints", checkpoints.size());
        ReportPage.fact(h, "models", String.join(", ", models));
        ReportPage.fact(h, "checkpoints holding NaN/Inf", withNonFinite);
        h.append("</table>\n");
        h.append("<section id=\"fleet\"><h2>Trends by module kind</h2><div id=\"fleet-trends\" class=\"charts\"></div>\n")
                .append("<h2>By layer and checkpoint</h2><div id=\"fleet-heatmap\"></div>\n")
                .append("<h2>Checkpoints</h2><div id=\"fleet-table\" class=\"table-box\"></div>\n</section>\n");
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("checkpoints", checkpoints);
        f.put("kinds", kinds);
        f.put("layers", layers);
        // the heatmap's rows: layer keys in natural order (layers.2 before layers.10), one per stack and layer
        Set<String> keys = new java.util.TreeSet<>(io.weightlab.common.io.NaturalOrder.INSTANCE);
        for (Map<String, Object> l : layers) keys.add(String.valueOf(l.get("name")));
        f.put("layer_keys", new ArrayList<>(keys));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "fleet");
        data.put("fleet", f);
        return ReportPage.render("WeightLab fleet " + dataset, h.toString(), data);
    }

    /** The row's identity (model, step, uri) and the named columns, non-finite numbers as null. */
    private static Map<String, Object> slim(Map<String, Object> r, String... keys) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.get("model"));
        m.put("step", r.get("step"));
        m.put("uri", r.get("checkpoint_uri"));
        for (String k : keys) {
            Object v = r.get(k);
            m.put(k, v instanceof Double d ? ReportData.num(d) : v);
        }
        return m;
    }

    private static long num(Object v) { return v instanceof Number n ? n.longValue() : 0; }

}
