package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The page of {@code weightlab compare} ({@link ReportPage}): layer rotation and relative change by layer (one line
 * per checkpoint), rotation as a layer x checkpoint heatmap, and the rank of ΔW over the series by module kind.
 * A series whose checkpoints all carry a distinct step number (checkpoint-500, step_1000, ...) gets a numeric
 * step axis; unrelated checkpoints are categorical points with no line between them.
 */
public final class CompareReport {
    private static final Pattern STEP = Pattern.compile("(\\d+)(?!.*\\d)");

    private CompareReport() {}

    /** @param layers rows with "checkpoint_index", "checkpoint", "layer_index", "rotation", "rel_delta"; tensors rows with "module_kind", "delta_stable_rank", "delta_rank_0.01" */
    public static String render(Map<String, Object> run, List<Map<String, Object>> layers, List<Map<String, Object>> tensors, List<Map<String, Object>> mismatches) {
        StringBuilder h = new StringBuilder(64 * 1024);
        StatsHtmlReport.facts(h, run);
        h.append("<section id=\"compare\"><h2>Layer rotation and change</h2><div id=\"compare-layers\" class=\"charts\"></div>\n")
                .append("<h2>Rotation, layer x checkpoint</h2><div id=\"compare-heatmap\" class=\"panel\"></div>\n")
                .append("<h2>Rank of ΔW over the series</h2><div id=\"compare-series\" class=\"charts\"></div></section>\n");
        if (!mismatches.isEmpty()) {
            h.append("<h2>Not compared</h2>\n<div class=\"table-box\"><table><tr><th class=\"l\">checkpoint</th><th class=\"l\">tensor</th><th class=\"l\">why</th></tr>\n");
            for (Map<String, Object> m : mismatches) {
                h.append("<tr><td class=\"l\">").append(esc(m.get("checkpoint"))).append("</td><td class=\"l\">").append(esc(m.get("name")))
                        .append("</td><td class=\"l\">").append(esc(m.get("why"))).append("</td></tr>\n");
            }
            h.append("</table></div>\n");
        }
        h.append("<h2>By layer</h2><div id=\"compare-table\" class=\"table-box\"></div>\n");

        List<String> checkpoints = new ArrayList<>();
        if (run.get("checkpoints") instanceof List<?> l) for (Object o : l) checkpoints.add(String.valueOf(o));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "compare");
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("checkpoints", checkpoints);
        c.put("steps", steps(checkpoints));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map<String, Object> r : layers) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("checkpoint_index", r.get("checkpoint_index"));
            m.put("checkpoint", r.get("checkpoint"));
            m.put("layer", r.get("layer"));
            m.put("layer_index", r.get("layer_index"));
            m.put("rotation", ReportData.num(num(r.get("rotation"))));
            m.put("rel_delta", ReportData.num(num(r.get("rel_delta"))));
            m.put("tensors", r.get("tensors"));
            rows.add(m);
        }
        c.put("layers", rows);
        c.put("rank", overSeries(tensors, "delta_rank_0.01"));
        c.put("stable_rank", overSeries(tensors, "delta_stable_rank"));
        data.put("compare", c);
        return ReportPage.render("WeightLab compare: " + run.get("reference"), h.toString(), data);
    }

    /** Each checkpoint's step (the last number in its last path component) when all have distinct ones, else null. */
    static List<Long> steps(List<String> checkpoints) {
        List<Long> out = new ArrayList<>();
        for (String ck : checkpoints) {
            String leaf = ck.replaceAll("[/\\\\]+$", "");
            leaf = leaf.substring(Math.max(leaf.lastIndexOf('/'), leaf.lastIndexOf('\\')) + 1);
            Matcher m = STEP.matcher(leaf);
            if (!m.find() || m.group(1).length() > 18) return null;
            long s = Long.parseLong(m.group(1));
            if (out.contains(s)) return null;
            out.add(s);
        }
        return checkpoints.size() >= 2 ? out : null;
    }

    /** Module kind -> mean of the column over its tensors, per checkpoint index (1-based). */
    static Map<String, Map<Integer, Double>> overSeries(List<Map<String, Object>> tensors, String key) {
        Map<String, TreeMap<Integer, double[]>> acc = new TreeMap<>();
        for (Map<String, Object> r : tensors) {
            double v = num(r.get(key));
            if (!Double.isFinite(v) || !(r.get("checkpoint_index") instanceof Integer ci)) continue;
            double[] sn = acc.computeIfAbsent(String.valueOf(r.get("module_kind")), k -> new TreeMap<>()).computeIfAbsent(ci, k -> new double[2]);
            sn[0] += v;
            sn[1]++;
        }
        Map<String, Map<Integer, Double>> out = new LinkedHashMap<>();
        acc.forEach((kind, byCk) -> {
            Map<Integer, Double> m = new LinkedHashMap<>();
            byCk.forEach((ci, sn) -> m.put(ci, ReportData.num(sn[0] / sn[1])));
            out.put(kind, m);
        });
        return out;
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String esc(Object o) {
        return StatsHtmlReport.esc(String.valueOf(o));
    }
}
