package io.weightlab.common.report;

import io.weightlab.common.model.TensorName;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The page of a merge ({@code merge}'s report.html, {@code report --merge}; {@link ReportPage}): the run's facts, each
 * input model's parameters as resolved with its task-vector norm and kept fraction (by layer where a method has
 * them), SLERP's cosine(base, model) by layer, every merged tensor in a sortable table, and the tensors copied or
 * passed through. Everything comes from weightlab_provenance.json.
 */
public final class MergeReport {
    private static final List<String> FACTS = List.of("job", "recipe", "merge_method", "base_model", "models", "out_dtype", "seed", "slices",
            "layers", "measure_passes", "tie_broken_cuts", "seconds", "bytes_out", "copied");

    private MergeReport() {}

    /** @param run the provenance's run facts; @param tensors its rows (as written, or as read back from JSON) */
    public static String render(Map<String, Object> run, List<Map<String, Object>> tensors) {
        List<String> uris = strings(run.get("models"));
        List<String> labels = labels(uris);
        StringBuilder h = new StringBuilder(32 * 1024);
        h.append("<table class=\"facts\">");
        for (String k : FACTS) {
            Object v = run.get(k);
            if (v != null && !String.valueOf(v).isEmpty()) ReportPage.fact(h, k, v);
        }
        h.append("</table>\n<p>").append(tensors.size()).append(" tensor(s) written by ").append(StatsHtmlReport.esc(String.valueOf(run.get("merge_method"))))
                .append(" from ").append(uris.size()).append(" model(s)").append(run.get("base_model") != null ? " onto the base" : "").append(".</p>\n");

        List<Map<String, Object>> rows = new ArrayList<>();
        // per model and layer: Σ‖τ‖² and Σ kept fraction over the layer's tensors, and how many there were
        List<TreeMap<Integer, double[]>> perLayer = new ArrayList<>();
        for (int i = 0; i < uris.size(); i++) perLayer.add(new TreeMap<>());
        double[] normSq = new double[uris.size()], keptSum = new double[uris.size()];
        int[] keptCount = new int[uris.size()];
        for (Map<String, Object> t : tensors) {
            String name = String.valueOf(t.get("name"));
            TensorName n = TensorName.parse(name);
            Integer layer = n.stack() != null ? n.layer() : null;
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("name", name);
            r.put("kind", n.kind().label());
            r.put("layer", layer);
            r.put("method", t.get("method"));
            double[] norms = doubles(t.get("task_vector_norms")), kept = doubles(t.get("kept_fraction"));
            for (int i = 0; i < uris.size(); i++) {
                double norm = norms != null && i < norms.length ? norms[i] : Double.NaN, k = kept != null && i < kept.length ? kept[i] : Double.NaN;
                r.put("norm_" + (i + 1), ReportData.num(norm));
                r.put("kept_" + (i + 1), ReportData.num(k));
                if (Double.isFinite(norm)) normSq[i] += norm * norm;
                if (Double.isFinite(k)) { keptSum[i] += k; keptCount[i]++; }
                if (layer == null || !(Double.isFinite(norm) || Double.isFinite(k))) continue;
                double[] acc = perLayer.get(i).computeIfAbsent(layer, x -> new double[] {0, 0, 0, 0});
                if (Double.isFinite(norm)) { acc[0] += norm * norm; acc[3] = 1; }
                if (Double.isFinite(k)) { acc[1] += k; acc[2]++; }
            }
            r.put("cosine_base_model", t.get("cosine_base_model") instanceof Number c ? ReportData.num(c.doubleValue()) : null);
            r.put("parameters", parameters(t.get("parameters")));
            if (t.get("source") != null) r.put("source", t.get("source"));
            if (t.get("why") != null) r.put("why", t.get("why"));
            rows.add(r);
        }
        List<Map<String, Object>> layers = new ArrayList<>();
        for (int i = 0; i < uris.size(); i++) {
            for (Map.Entry<Integer, double[]> e : perLayer.get(i).entrySet()) {
                double[] acc = e.getValue();
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("kind", labels.get(i)); // report.js's byLayer draws one line per "kind": here, per model
                l.put("layer", e.getKey());
                l.put("name", labels.get(i) + ", layer " + e.getKey());
                l.put("task_vector_norm", acc[3] > 0 ? ReportData.num(Math.sqrt(acc[0])) : null);
                l.put("kept_fraction", acc[2] > 0 ? ReportData.num(acc[1] / acc[2]) : null);
                layers.add(l);
            }
        }

        h.append("<section id=\"merge\"><h2>Input models</h2>\n");
        models(h, uris, labels, tensors, normSq, keptSum, keptCount);
        if (!layers.isEmpty() || rows.stream().anyMatch(r -> r.get("cosine_base_model") != null)) h.append("<h2>By layer</h2><div id=\"merge-layers\" class=\"charts\"></div>\n");
        h.append("<h2>Tensors</h2><div id=\"merge-table\" class=\"table-box\"></div>\n");
        List<String> copied = strings(run.get("copied_tensors"));
        boolean stacked = rows.stream().anyMatch(r -> r.get("source") != null);
        if (!copied.isEmpty() || stacked) {
            h.append("<h2>Copied or passed through</h2>\n");
            if (stacked) h.append("<p>passthrough over slices: every tensor is its slice's source tensor (times its scale); the table's source and why say which.</p>\n");
            if (!copied.isEmpty()) {
                h.append("<p>").append(copied.size()).append(" tensor(s) not floating point, copied as stored from ")
                        .append(StatsHtmlReport.esc(String.valueOf(run.get("base_model") != null ? run.get("base_model") : uris.isEmpty() ? "" : uris.get(0)))).append(":</p><ul id=\"merge-copied\">");
                for (String c : copied) h.append("<li>").append(StatsHtmlReport.esc(c)).append("</li>");
                h.append("</ul>\n");
            }
        }
        h.append("</section>\n");

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("models", labels);
        m.put("tensors", rows);
        m.put("layers", layers);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "merge");
        data.put("merge", m);
        return ReportPage.render("WeightLab merge " + run.getOrDefault("merge_method", ""), h.toString(), data);
    }

    /** One column per input model: its URI, each per-model parameter as resolved (a range where it varies by tensor), then global ones. */
    private static void models(StringBuilder h, List<String> uris, List<String> labels, List<Map<String, Object>> tensors, double[] normSq, double[] keptSum, int[] keptCount) {
        Map<String, double[][]> perModel = new LinkedHashMap<>(); // parameter -> model -> {min, max}
        Map<String, double[]> global = new LinkedHashMap<>();
        for (Map<String, Object> t : tensors) {
            if (!(t.get("parameters") instanceof Map<?, ?> p)) continue;
            p.forEach((k, v) -> {
                double[] vs = doubles(v);
                if (vs == null && v instanceof Number x) range(global.computeIfAbsent(String.valueOf(k), z -> new double[] {Double.NaN, Double.NaN}), x.doubleValue());
                else if (vs != null) {
                    double[][] r = perModel.computeIfAbsent(String.valueOf(k), z -> new double[uris.size()][]);
                    for (int i = 0; i < Math.min(vs.length, r.length); i++) range(r[i] == null ? (r[i] = new double[] {Double.NaN, Double.NaN}) : r[i], vs[i]);
                }
            });
        }
        // a model's URI is in the facts and its column's tooltip: long paths in the cells would push the page sideways
        h.append("<div class=\"table-box\"><table id=\"merge-models\"><tr><th class=\"l\">model</th>");
        for (int i = 0; i < labels.size(); i++) h.append("<th class=\"l\" title=\"").append(StatsHtmlReport.esc(uris.get(i))).append("\">").append(StatsHtmlReport.esc(labels.get(i))).append("</th>");
        h.append("</tr>\n");
        perModel.forEach((k, r) -> {
            h.append("<tr><th class=\"l\">").append(StatsHtmlReport.esc(k)).append("</th>");
            for (double[] x : r) h.append("<td>").append(x == null ? "" : shown(x)).append("</td>");
            h.append("</tr>\n");
        });
        if (tensors.stream().anyMatch(t -> t.get("task_vector_norms") != null)) {
            h.append("<tr><th class=\"l\">task-vector norm (all tensors)</th>");
            for (double s : normSq) h.append("<td>").append(text(Math.sqrt(s))).append("</td>");
            h.append("</tr>\n");
        }
        if (tensors.stream().anyMatch(t -> t.get("kept_fraction") != null)) {
            h.append("<tr><th class=\"l\">kept fraction (mean over tensors)</th>");
            for (int i = 0; i < keptSum.length; i++) h.append("<td>").append(keptCount[i] == 0 ? "" : text(keptSum[i] / keptCount[i])).append("</td>");
            h.append("</tr>\n");
        }
        global.forEach((k, x) -> h.append("<tr><th class=\"l\">").append(StatsHtmlReport.esc(k)).append(" (all models)</th><td class=\"l\" colspan=\"")
                .append(Math.max(1, uris.size())).append("\">").append(shown(x)).append("</td></tr>\n"));
        h.append("</table></div>\n");
    }

    /** A parameter's value, or its range over the tensors when a filter or gradient makes it vary. */
    private static String shown(double[] minMax) {
        return minMax[0] == minMax[1] ? text(minMax[0]) : text(minMax[0]) + " – " + text(minMax[1]) + " (by tensor)";
    }

    /** Six significant digits, and whole numbers without ".0" (a weight of 1, not 1.0). */
    private static String text(double v) {
        Double d = ReportData.num(v);
        if (d == null) return "–";
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString();
    }

    private static void range(double[] minMax, double v) {
        if (Double.isNaN(minMax[0]) || v < minMax[0]) minMax[0] = v;
        if (Double.isNaN(minMax[1]) || v > minMax[1]) minMax[1] = v;
    }

    /** One line of a tensor's parameters, e.g. "weight [1, 0.5] · density [0.5, 0.5] · normalize 1", for the table and its filter. */
    private static String parameters(Object o) {
        if (!(o instanceof Map<?, ?> p)) return "";
        List<String> parts = new ArrayList<>();
        p.forEach((k, v) -> {
            double[] vs = doubles(v);
            if (vs != null) {
                List<Object> shown = new ArrayList<>();
                for (double x : vs) shown.add(text(x));
                parts.add(k + " " + shown);
            } else parts.add(k + " " + (v instanceof Number x ? text(x.doubleValue()) : v));
        });
        return String.join(" · ", parts);
    }

    /** A list of numbers as written (double[]) or as read back (a JSON array, nulls for NaN); null when not a list. */
    static double[] doubles(Object o) {
        if (o instanceof double[] a) return a;
        if (!(o instanceof List<?> l)) return null;
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = l.get(i) instanceof Number x ? x.doubleValue() : Double.NaN;
        return out;
    }

    private static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o instanceof List<?> l) for (Object x : l) out.add(String.valueOf(x));
        return out;
    }

    /** Legends show a model's directory name when that is unambiguous (as the compare page does), else its URI. */
    static List<String> labels(List<String> uris) {
        List<String> leaves = new ArrayList<>();
        for (String u : uris) {
            String s = u.replaceAll("/+$", "");
            leaves.add(s.substring(s.lastIndexOf('/') + 1));
        }
        return leaves.stream().distinct().count() == leaves.size() && leaves.stream().noneMatch(String::isEmpty) ? leaves : uris;
    }

}
