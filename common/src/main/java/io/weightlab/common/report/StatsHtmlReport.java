package io.weightlab.common.report;

import io.weightlab.common.stats.StatsRow;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The server-rendered tables of the report page, complete without JavaScript: run facts, roll-ups (model, role,
 * module kind, layer) and anomalies with their reasons (NaN/Inf, constant, near-zero variance, heavy-tailed
 * matrices, power-law alpha outside [2, 6]). The sortable tensor and matrix tables are drawn by report.js.
 */
public final class StatsHtmlReport {
    private StatsHtmlReport() {}

    static void facts(StringBuilder h, Map<String, Object> run) {
        h.append("<table class=\"facts\">");
        for (String k : List.of("job", "input", "files", "tensors", "parameters", "tensor_bytes", "work_units", "dequantized", "matrices", "seconds", "spark_master", "finished")) {
            if (run.containsKey(k)) ReportPage.fact(h, k, run.get(k));
        }
        h.append("</table>\n");
    }

    static void rollups(StringBuilder h, List<StatsRow> rollups) {
        section(h, "Model and roles", filter(rollups, "model", "role"), false);
        section(h, "By module kind", filter(rollups, "module_kind"), false);
        section(h, "By layer", filter(rollups, "layer"), false);
    }

    static void anomalies(StringBuilder h, List<StatsRow> tensors) {
        List<StatsRow> anomalies = new ArrayList<>();
        for (StatsRow r : tensors) if (!ReportData.anomaly(r).isEmpty()) anomalies.add(r);
        h.append("<h2>Anomalies</h2>\n");
        if (anomalies.isEmpty()) {
            h.append("<p>No tensor with NaN/Inf or constant values, and no matrix with excess kurtosis above 50.</p>\n");
            return;
        }
        h.append("<div class=\"table-box\"><table id=\"anomaly-table\"><tr><th class=\"l\">tensor</th><th class=\"l\">shape</th><th class=\"l\">why</th>"
                + "<th>nan</th><th>inf</th><th>std</th><th>kurtosis</th><th>max|x|/std</th></tr>\n");
        for (StatsRow r : anomalies) {
            h.append("<tr class=\"bad\"><td class=\"l\">").append(esc(r.name())).append("</td><td class=\"l\">").append(esc(String.valueOf(r.shape())))
                    .append("</td><td class=\"l\">").append(esc(ReportData.anomaly(r)))
                    .append("</td><td>").append(r.nanCount()).append("</td><td>").append(r.infCount()).append("</td><td>")
                    .append(g(r.std())).append("</td><td>").append(g(r.kurtosisExcess())).append("</td><td>").append(g(r.outlierRatio())).append("</td></tr>\n");
        }
        h.append("</table></div>\n");
    }

    static void spectrumAnomalies(StringBuilder h, List<Map<String, Object>> spectrum) {
        List<Map<String, Object>> odd = new ArrayList<>();
        for (Map<String, Object> r : spectrum) {
            if (r.get("alpha") instanceof Number a && (a.doubleValue() < 2 || a.doubleValue() > 6)) odd.add(r);
        }
        h.append("<h2>Spectral anomalies (alpha &lt; 2 over-trained, alpha &gt; 6 under-trained, WeightWatcher's rule)</h2>\n");
        if (odd.isEmpty()) {
            h.append("<p>None.</p>\n");
            return;
        }
        h.append("<div class=\"table-box\"><table id=\"spectral-anomalies\"><tr><th class=\"l\">matrix</th><th>alpha</th><th>D</th><th class=\"l\">why</th></tr>\n");
        for (Map<String, Object> r : odd) {
            h.append("<tr class=\"bad\"><td class=\"l\">").append(esc(String.valueOf(r.get("name")))).append("</td><td>")
                    .append(g(((Number) r.get("alpha")).doubleValue())).append("</td><td>").append(g(num(r.get("D")))).append("</td><td class=\"l\">")
                    .append(esc(String.valueOf(r.get("alpha_status")))).append(((Number) r.get("alpha")).doubleValue() < 2 ? ": alpha < 2" : ": alpha > 6")
                    .append("</td></tr>\n");
        }
        h.append("</table></div>\n");
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static List<StatsRow> filter(List<StatsRow> rows, String... levels) {
        List<StatsRow> out = new ArrayList<>();
        for (StatsRow r : rows) for (String l : levels) if (r.level().equals(l)) out.add(r);
        return out;
    }

    private static void section(StringBuilder h, String title, List<StatsRow> rows, boolean tensorCols) {
        h.append("<h3>").append(esc(title)).append("</h3>\n<div class=\"table-box\"><table><tr><th class=\"l\">")
                .append(tensorCols ? "tensor</th><th class=\"l\">dtype</th><th class=\"l\">shape</th><th class=\"l\">kind" : "group</th><th>tensors")
                .append("</th><th>elements</th><th>mean</th><th>std</th><th>skew</th><th>kurtosis</th><th>beta</th><th>best fit</th><th>min</th><th>max</th><th>zero %</th><th>q01</th><th>q50</th><th>q99</th><th>nan/inf</th></tr>\n");
        for (StatsRow r : rows) {
            boolean bad = r.nanCount() + r.infCount() > 0;
            h.append(bad ? "<tr class=\"bad\">" : "<tr>").append("<td class=\"l\">")
                    .append(esc(r.level().equals("tensor") || r.level().equals("model") ? r.name() : r.level() + ": " + r.name())).append("</td>");
            if (tensorCols) {
                h.append("<td class=\"l\">").append(esc(r.dtype())).append(r.dequantized() ? " (deq)" : "").append("</td><td class=\"l\">")
                        .append(esc(r.shape() == null ? "" : String.valueOf(r.shape()))).append("</td><td class=\"l\">").append(esc(r.moduleKind())).append("</td>");
            } else {
                h.append("<td>").append(r.tensors()).append("</td>");
            }
            double beta = r.gg() == null ? Double.NaN : r.gg().beta();
            String best = r.gg() == null || r.gg().best() == null ? "" : r.gg().best().replace("generalized_gaussian", "GG");
            h.append("<td>").append(r.elements()).append("</td><td>").append(g(r.mean())).append("</td><td>").append(g(r.std()))
                    .append("</td><td>").append(g(r.skewness())).append("</td><td>").append(g(r.kurtosisExcess()))
                    .append("</td><td>").append(g(beta)).append("</td><td>").append(esc(best))
                    .append("</td><td>").append(g(r.min())).append("</td><td>").append(g(r.max()))
                    .append("</td><td>").append(g(100 * r.zeroFraction())).append("</td><td>").append(g(r.quantiles()[0]))
                    .append("</td><td>").append(g(r.quantiles()[3])).append("</td><td>").append(g(r.quantiles()[6]))
                    .append("</td><td>").append(r.nanCount() + r.infCount()).append("</td></tr>\n");
        }
        h.append("</table></div>\n");
    }

    static String g(double d) {
        return Double.isNaN(d) ? "&ndash;" : String.format(Locale.ROOT, "%.4g", d);
    }

    static String esc(String s) {
        if (s == null) return "";
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
