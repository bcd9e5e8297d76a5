package io.weightlab.common.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The HTML page of {@code weightlab compare}: layer rotation by layer (one line per compared checkpoint), relative
 * change by layer, and the rank of ΔW over the series (one line per module kind); then the per-layer table.
 */
public final class CompareReport {
    private CompareReport() {}

    /** @param layers rows with "checkpoint_index", "checkpoint", "layer_index", "rotation", "rel_delta"; tensors rows with "module_kind", "delta_stable_rank", "delta_rank_0.01" */
    public static String render(Map<String, Object> run, List<Map<String, Object>> layers, List<Map<String, Object>> tensors, List<Map<String, Object>> mismatches) {
        StringBuilder h = new StringBuilder(128 * 1024);
        StatsHtmlReport.head(h, "WeightLab compare: " + run.get("reference"));
        StatsHtmlReport.facts(h, run);
        h.append("<h2>Layer rotation and change</h2>\n<div class=\"charts\">");
        h.append(Charts.lines("layer rotation δ = 1 − cos(W_t, W_0) by layer", "layer", "δ", byLayer(layers, "rotation"), false));
        h.append(Charts.lines("relative change ‖W_t − W_0‖ / ‖W_0‖ by layer", "layer", "relative change", byLayer(layers, "rel_delta"), false));
        h.append("</div>\n<h2>Rank of ΔW over the series</h2>\n<div class=\"charts\">");
        h.append(Charts.lines("mean numerical rank of ΔW (σ > 0.01·σ₁) by module kind", "checkpoint", "rank", overSeries(tensors, "delta_rank_0.01"), false));
        h.append(Charts.lines("mean stable rank of ΔW by module kind", "checkpoint", "stable rank", overSeries(tensors, "delta_stable_rank"), false));
        h.append("</div>\n");
        if (!mismatches.isEmpty()) {
            h.append("<h2>Not compared</h2>\n<table><tr><th>checkpoint</th><th>tensor</th><th>why</th></tr>\n");
            for (Map<String, Object> m : mismatches) {
                h.append("<tr><td>").append(esc(m.get("checkpoint"))).append("</td><td>").append(esc(m.get("name"))).append("</td><td>")
                        .append(esc(m.get("why"))).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<h2>By layer</h2>\n<table><tr><th>checkpoint</th><th>layer</th><th>rotation δ</th><th>relative change</th><th>tensors</th></tr>\n");
        for (Map<String, Object> r : layers) {
            h.append("<tr><td>").append(esc(r.get("checkpoint"))).append("</td><td>").append(esc(r.get("layer"))).append("</td><td>")
                    .append(String.format(java.util.Locale.ROOT, "%.6g", num(r.get("rotation")))).append("</td><td>")
                    .append(String.format(java.util.Locale.ROOT, "%.6g", num(r.get("rel_delta")))).append("</td><td>").append(r.get("tensors")).append("</td></tr>\n");
        }
        h.append("</table>\n</body></html>\n");
        return h.toString();
    }

    static Map<String, double[][]> byLayer(List<Map<String, Object>> layers, String key) {
        Map<String, List<double[]>> s = new LinkedHashMap<>();
        for (Map<String, Object> r : layers) {
            if (!(r.get("layer_index") instanceof Integer l)) continue;
            s.computeIfAbsent(String.valueOf(r.get("checkpoint")), k -> new java.util.ArrayList<>()).add(new double[] {l, num(r.get(key))});
        }
        return arrays(s);
    }

    static Map<String, double[][]> overSeries(List<Map<String, Object>> tensors, String key) {
        Map<String, TreeMap<Integer, double[]>> acc = new TreeMap<>();
        for (Map<String, Object> r : tensors) {
            double v = num(r.get(key));
            if (!Double.isFinite(v)) continue;
            double[] sn = acc.computeIfAbsent(String.valueOf(r.get("module_kind")), k -> new TreeMap<>())
                    .computeIfAbsent((Integer) r.get("checkpoint_index"), k -> new double[2]);
            sn[0] += v;
            sn[1]++;
        }
        Map<String, List<double[]>> s = new LinkedHashMap<>();
        acc.forEach((kind, byCk) -> byCk.forEach((c, sn) -> s.computeIfAbsent(kind, k -> new java.util.ArrayList<>()).add(new double[] {c, sn[0] / sn[1]})));
        return arrays(s);
    }

    private static Map<String, double[][]> arrays(Map<String, List<double[]>> s) {
        Map<String, double[][]> out = new LinkedHashMap<>();
        s.forEach((k, v) -> out.put(k, v.toArray(double[][]::new)));
        return out;
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String esc(Object o) {
        return String.valueOf(o).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
