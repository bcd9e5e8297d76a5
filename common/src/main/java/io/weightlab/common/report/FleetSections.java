package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fleet page's part of each dataset ({@link FleetReport}): the data its charts draw, its columns of the
 * checkpoints' table and the table of what stands out, rendered here (drift for stats, α outside [2, 6] for
 * spectrum, the largest relative changes for compare).
 */
final class FleetSections {
    private FleetSections() {}

    /** Rows of each findings table. */
    static final int DRIFT_ROWS = 20, CHANGE_ROWS = 20, ALPHA_ROWS = 50;
    /** WeightWatcher's range of a well-trained layer's α. */
    static final double ALPHA_LO = 2, ALPHA_HI = 6;

    static void stats(FleetReport.Dataset d, Map<String, Map<String, Object>> checkpoints, Map<String, Object> f, StringBuilder h) {
        List<Map<String, Object>> kinds = new ArrayList<>(), layers = new ArrayList<>();
        for (Map<String, Object> r : d.rows()) {
            switch (String.valueOf(r.get("level"))) {
                case "model" -> {
                    Map<String, Object> c = FleetReport.checkpoint(checkpoints, r);
                    for (String k : List.of("tensors", "elements", "mean", "std", "kurtosis_excess", "outlier_ratio", "l2", "nan_count", "inf_count")) {
                        Object v = r.get(k);
                        c.put(k, v instanceof Double x ? ReportData.num(x) : v);
                    }
                    files(c).put("stats", d.uri() + "/" + r.get("file"));
                }
                case "module_kind" -> kinds.add(FleetReport.slim(r, "name", "std", "kurtosis_excess", "outlier_ratio"));
                case "layer" -> {
                    if (!"(none)".equals(r.get("name"))) layers.add(FleetReport.slim(r, "name", "std", "kurtosis_excess"));
                }
                default -> { }
            }
        }
        h.append("<h2>Trends by module kind</h2><div id=\"fleet-trends\" class=\"charts\"></div>\n")
                .append("<h2>By layer and checkpoint</h2><div id=\"fleet-heatmap\"></div>\n");
        List<Map<String, Object>> drift = largestDrift(layers, DRIFT_ROWS);
        driftTable(h, drift);
        f.put("kinds", kinds);
        f.put("layers", layers);
        f.put("drift", drift);
        f.put("layer_keys", FleetReport.naturalKeys(layers, "name"));
    }

    /**
     * Per layer row of a checkpoint that is not its series' first (series: one model label; first: the lowest step,
     * else the first by URI), std / std of the same layer at the first − 1; the {@code limit} largest in magnitude.
     */
    static List<Map<String, Object>> largestDrift(List<Map<String, Object>> layers, int limit) {
        Map<String, Map<String, Object>> firstOfModel = new LinkedHashMap<>();
        for (Map<String, Object> l : layers) firstOfModel.merge(String.valueOf(l.get("model")), l, (a, b) -> FleetReport.ORDER.compare(a, b) <= 0 ? a : b);
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
            row(h, d).append(cell(d.get("layer"))).append("<td>").append(g5(d.get("std"))).append("</td><td>")
                    .append(g5(d.get("first_std"))).append("</td><td>")
                    .append(String.format(Locale.ROOT, "%+.2f%%", 100 * (Double) d.get("std_drift"))).append("</td></tr>\n");
        }
        h.append("</tbody></table></div>\n");
    }

    /**
     * Per checkpoint: matrices analysed, the median α and how many α left [2, 6]; per checkpoint and module kind the
     * median α (the trend); every matrix (for the details) and those outside the range, farthest first.
     */
    static void spectrum(FleetReport.Dataset d, Map<String, Map<String, Object>> checkpoints, Map<String, Object> f, StringBuilder h) {
        Map<String, List<Double>> alphasOf = new LinkedHashMap<>();
        Map<String, Map<String, List<Double>>> byKind = new LinkedHashMap<>();
        List<Map<String, Object>> matrices = new ArrayList<>(), outside = new ArrayList<>();
        for (Map<String, Object> r : d.rows()) {
            Map<String, Object> c = FleetReport.checkpoint(checkpoints, r);
            files(c).put("spectrum", d.uri() + "/" + r.get("file"));
            Map<String, Object> m = FleetReport.slim(r, "name", "layer", "module_kind", "status", "alpha", "alpha_status", "stable_rank", "log_spectral_norm");
            matrices.add(m);
            String uri = String.valueOf(m.get("uri"));
            List<Double> alphas = alphasOf.computeIfAbsent(uri, u -> new ArrayList<>());
            c.put("matrices", num(c.get("matrices")) + ("ok".equals(r.get("status")) ? 1 : 0));
            if (!(m.get("alpha") instanceof Double a)) continue;
            alphas.add(a);
            byKind.computeIfAbsent(uri, u -> new TreeMap<>()).computeIfAbsent(String.valueOf(r.get("module_kind")), k -> new ArrayList<>()).add(a);
            if (a < ALPHA_LO || a > ALPHA_HI) outside.add(m);
        }
        List<Map<String, Object>> kindTrend = new ArrayList<>();
        for (Map.Entry<String, List<Double>> e : alphasOf.entrySet()) {
            Map<String, Object> c = checkpoints.get(e.getKey());
            c.put("alpha_median", median(e.getValue()));
            c.put("alpha_out", e.getValue().stream().filter(a -> a < ALPHA_LO || a > ALPHA_HI).count());
            for (Map.Entry<String, List<Double>> k : byKind.getOrDefault(e.getKey(), Map.of()).entrySet()) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("model", c.get("model"));
                t.put("step", c.get("step"));
                t.put("uri", e.getKey());
                t.put("name", k.getKey());
                t.put("alpha", median(k.getValue()));
                t.put("matrices", k.getValue().size());
                kindTrend.add(t);
            }
        }
        outside.sort(Comparator.comparingDouble((Map<String, Object> m) -> -distance((Double) m.get("alpha")))
                .thenComparing(FleetReport.ORDER).thenComparing(m -> String.valueOf(m.get("name"))));
        h.append("<h2>α by module kind</h2><p class=\"note\">The median power-law exponent α of the ESD (WeightWatcher's alpha) over each ")
                .append("checkpoint's matrices of a kind; a well-trained layer's α lies in [2, 6] (the band).</p><div id=\"fleet-alpha\" class=\"charts\"></div>\n")
                .append("<h2>Matrices whose α is outside [2, 6]</h2>\n");
        if (outside.isEmpty()) h.append("<p id=\"fleet-alpha-none\">Every fitted α of every checkpoint lies in [2, 6].</p>\n");
        else {
            h.append("<p class=\"note\">").append(outside.size()).append(" matrices, farthest from the range first")
                    .append(outside.size() > ALPHA_ROWS ? "; the first " + ALPHA_ROWS + " shown" : "").append(".</p>\n")
                    .append("<div class=\"table-box\"><table id=\"fleet-alpha-out\"><thead><tr><th class=\"l\">model</th><th>step</th>")
                    .append("<th class=\"l\">matrix</th><th class=\"l\">module kind</th><th>α</th><th class=\"l\">status</th></tr></thead><tbody>\n");
            for (Map<String, Object> m : outside.subList(0, Math.min(ALPHA_ROWS, outside.size()))) {
                row(h, m).append(cell(m.get("name"))).append(cell(m.get("module_kind"))).append("<td>").append(g5(m.get("alpha")))
                        .append("</td>").append(cell(m.get("alpha_status"))).append("</tr>\n");
            }
            h.append("</tbody></table></div>\n");
        }
        f.put("alpha_kinds", kindTrend);
        f.put("matrices", matrices);
        f.put("alpha_outside", outside.size());
    }

    /** Per checkpoint its reference and largest layer change; every layer row (heatmap, details); the largest changes. */
    static void compare(FleetReport.Dataset d, Map<String, Map<String, Object>> checkpoints, Map<String, Object> f, StringBuilder h) {
        List<Map<String, Object>> changes = new ArrayList<>();
        for (Map<String, Object> r : d.rows()) {
            Map<String, Object> c = FleetReport.checkpoint(checkpoints, r);
            files(c).put("compare", d.uri() + "/" + r.get("file"));
            c.put("against", r.get("against_uri"));
            Map<String, Object> m = FleetReport.slim(r, "layer", "layer_index", "tensors", "rel_delta", "rotation", "against_uri", "against_step");
            changes.add(m);
            if (m.get("rel_delta") instanceof Double x && !(c.get("rel_delta_max") instanceof Double y && y >= x)) {
                c.put("rel_delta_max", x);
                c.put("rel_delta_max_layer", m.get("layer"));
            }
        }
        List<Map<String, Object>> largest = new ArrayList<>();
        for (Map<String, Object> m : changes) if (m.get("rel_delta") instanceof Double) largest.add(m);
        largest.sort(Comparator.comparingDouble((Map<String, Object> m) -> -(Double) m.get("rel_delta"))
                .thenComparing(FleetReport.ORDER).thenComparing(m -> String.valueOf(m.get("layer"))));
        largest = largest.subList(0, Math.min(CHANGE_ROWS, largest.size()));
        h.append("<h2>Change from the reference by layer and checkpoint</h2><p class=\"note\">rel_delta = ‖W − W₀‖ / ‖W₀‖ and rotation = ")
                .append("1 − cos(W, W₀) over each layer's tensors, W₀ the checkpoint's reference in the compare run.</p>")
                .append("<div id=\"fleet-change\"></div>\n<h2>Largest relative changes</h2>\n")
                .append("<div class=\"table-box\"><table id=\"fleet-largest-change\"><thead><tr><th class=\"l\">model</th><th>step</th>")
                .append("<th class=\"l\">layer</th><th>rel_delta</th><th>rotation</th><th class=\"l\">against</th></tr></thead><tbody>\n");
        for (Map<String, Object> m : largest) {
            row(h, m).append(cell(m.get("layer"))).append("<td>").append(g5(m.get("rel_delta"))).append("</td><td>").append(g5(m.get("rotation")))
                    .append("</td>").append(cell(m.get("against_step") != null ? "step " + m.get("against_step") : m.get("against_uri"))).append("</tr>\n");
        }
        h.append("</tbody></table></div>\n");
        f.put("changes", changes);
        f.put("change_keys", FleetReport.naturalKeys(changes, "layer"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> files(Map<String, Object> c) { return (Map<String, String>) c.get("files"); }

    /** A findings row: it opens its checkpoint's details (data-uri), model and step first. */
    private static StringBuilder row(StringBuilder h, Map<String, Object> r) {
        return h.append("<tr data-uri=\"").append(StatsHtmlReport.esc(String.valueOf(r.get("uri")))).append("\" title=\"")
                .append(StatsHtmlReport.esc(String.valueOf(r.get("uri")))).append("\">").append(cell(r.get("model")))
                .append("<td>").append(r.get("step") == null ? "" : r.get("step")).append("</td>");
    }

    private static String cell(Object v) { return "<td class=\"l\">" + StatsHtmlReport.esc(v == null ? "" : String.valueOf(v)) + "</td>"; }

    private static String g5(Object v) { return v instanceof Number n ? String.format(Locale.ROOT, "%.5g", n.doubleValue()) : ""; }

    private static double distance(double a) { return a < ALPHA_LO ? ALPHA_LO - a : a - ALPHA_HI; }

    private static long num(Object v) { return v instanceof Number n ? n.longValue() : 0; }

    /** numpy's median: the middle value, or the mean of the two middle ones. */
    static Double median(List<Double> values) {
        if (values.isEmpty()) return null;
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
}
