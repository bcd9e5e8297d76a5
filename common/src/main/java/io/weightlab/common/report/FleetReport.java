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
 * else points per checkpoint, no lines between unrelated models), a layer x checkpoint heatmap, the layers that
 * drifted most from their series' first checkpoint, and every checkpoint in a sortable table with its whole-model
 * numbers and NaN/Inf counts. The data are the dataset's roll-up rows.
 */
public final class FleetReport {
    private FleetReport() {}

    /** @param rows the dataset's rows of levels model, module_kind and layer, each with model, step and checkpoint_uri */
    public static String render(String dataset, List<Map<String, Object>> rows) {
        Comparator<Map<String, Object>> order = Comparator.comparing((Map<String, Object> r) -> String.valueOf(r.get("model")))
                .thenComparing(r -> (Long) r.get("step"), Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(r -> String.valueOf(r.containsKey("uri") ? r.get("uri") : r.get("checkpoint_uri"))); // slim rows say uri
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
                .append("<h2>By layer and checkpoint</h2><div id=\"fleet-heatmap\"></div>\n");
        List<Map<String, Object>> drift = largestDrift(layers, order, DRIFT_ROWS);
        driftTable(h, drift);
        h.append("<h2>Checkpoints</h2><div id=\"fleet-table\" class=\"table-box\"></div>\n</section>\n");
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("checkpoints", checkpoints);
        f.put("kinds", kinds);
        f.put("layers", layers);
        f.put("drift", drift);
        // the heatmap's rows: layer keys in natural order (layers.2 before layers.10), one per stack and layer
        Set<String> keys = new java.util.TreeSet<>(io.weightlab.common.io.NaturalOrder.INSTANCE);
        for (Map<String, Object> l : layers) keys.add(String.valueOf(l.get("name")));
        f.put("layer_keys", new ArrayList<>(keys));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "fleet");
        data.put("fleet", f);
        return ReportPage.render("WeightLab fleet " + dataset, h.toString(), data);
    }

    /** Rows of the largest-drift table. */
    static final int DRIFT_ROWS = 20;

    /**
     * Per layer row of a checkpoint that is not its series' first (series: one model label; first: the lowest step,
     * else the first by URI), std / std of the same layer at the first − 1; the {@code limit} largest in magnitude.
     */
    static List<Map<String, Object>> largestDrift(List<Map<String, Object>> layers, Comparator<Map<String, Object>> order, int limit) {
        Map<String, Map<String, Object>> firstOfModel = new LinkedHashMap<>();
        for (Map<String, Object> l : layers) firstOfModel.merge(String.valueOf(l.get("model")), l, (a, b) -> order.compare(a, b) <= 0 ? a : b);
        Map<String, Double> baseStd = new LinkedHashMap<>();
        for (Map<String, Object> l : layers) {
            Map<String, Object> first = firstOfModel.get(String.valueOf(l.get("model")));
            if (String.valueOf(l.get("uri")).equals(String.valueOf(first.get("uri"))) && l.get("std") instanceof Number n) {
                baseStd.put(l.get("model") + "\u0000" + l.get("name"), n.doubleValue());
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> l : layers) {
            Map<String, Object> first = firstOfModel.get(String.valueOf(l.get("model")));
            if (String.valueOf(l.get("uri")).equals(String.valueOf(first.get("uri"))) || !(l.get("std") instanceof Number n)) continue;
            Double base = baseStd.get(l.get("model") + "\u0000" + l.get("name"));
            if (base == null || !(base > 0)) continue;
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("model", l.get("model"));
            d.put("step", l.get("step"));
            d.put("uri", l.get("uri"));
            d.put("layer", l.get("name"));
            d.put("std", n.doubleValue());
            d.put("first_std", base);
            d.put("std_drift", n.doubleValue() / base - 1);
            d.put("first_uri", first.get("uri"));
            out.add(d);
        }
        out.sort(Comparator.comparingDouble((Map<String, Object> d) -> -Math.abs((Double) d.get("std_drift")))
                .thenComparing(d -> String.valueOf(d.get("uri"))).thenComparing(d -> String.valueOf(d.get("layer"))));
        return new ArrayList<>(out.subList(0, Math.min(limit, out.size())));
    }

    private static void driftTable(StringBuilder h, List<Map<String, Object>> drift) {
        h.append("<h2>Largest drift from the series' first checkpoint</h2>\n");
        if (drift.isEmpty()) {
            h.append("<p>No checkpoint follows another of its model.</p>\n");
            return;
        }
        h.append("<div class=\"table-box\"><table id=\"fleet-drift\"><thead><tr><th class=\"l\">model</th><th>step</th>")
                .append("<th class=\"l\">layer</th><th>std</th><th>std at the first</th><th>std drift</th></tr></thead><tbody>\n");
        for (Map<String, Object> d : drift) {
            h.append("<tr><td class=\"l\" title=\"").append(StatsHtmlReport.esc(String.valueOf(d.get("uri")))).append("\">")
                    .append(StatsHtmlReport.esc(String.valueOf(d.get("model")))).append("</td><td>")
                    .append(d.get("step") == null ? "" : d.get("step")).append("</td><td class=\"l\">")
                    .append(StatsHtmlReport.esc(String.valueOf(d.get("layer")))).append("</td><td>")
                    .append(String.format(java.util.Locale.ROOT, "%.5g", (Double) d.get("std"))).append("</td><td>")
                    .append(String.format(java.util.Locale.ROOT, "%.5g", (Double) d.get("first_std"))).append("</td><td>")
                    .append(String.format(java.util.Locale.ROOT, "%+.2f%%", 100 * (Double) d.get("std_drift"))).append("</td></tr>\n");
        }
        h.append("</tbody></table></div>\n");
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
