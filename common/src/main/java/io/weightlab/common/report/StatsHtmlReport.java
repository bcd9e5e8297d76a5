package io.weightlab.common.report;

import io.weightlab.common.stats.StatsRow;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The tables of the HTML report: run facts, roll-ups (model, role, module kind, layer), anomalies (NaN/Inf,
 * near-zero variance, heavy tails, power-law alpha outside [2, 6]), per-tensor and per-matrix tables.
 * {@link AnalysisReport} places them after the plots.
 */
public final class StatsHtmlReport {
    private StatsHtmlReport() {}

    /** A stats-only report. */
    public static String render(Map<String, Object> run, List<StatsRow> tensors, List<StatsRow> rollups) {
        return AnalysisReport.render(run, tensors, rollups, null, null, null);
    }

    static void head(StringBuilder h, String title) {
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n<style>")
                .append("body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}")
                .append("table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
                .append("th{background:#f0f0f0}td.l,th.l{text-align:left}tr.bad td{background:#fde2e2}.facts td{text-align:left}")
                .append(".charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #ddd}")
                .append("</style></head><body>\n<h1>").append(esc(title)).append("</h1>\n");
    }

    static void facts(StringBuilder h, Map<String, Object> run) {
        h.append("<table class=\"facts\">");
        for (String k : List.of("job", "input", "files", "tensors", "parameters", "tensor_bytes", "work_units", "dequantized", "matrices", "seconds", "spark_master", "finished")) {
            if (run.containsKey(k)) h.append("<tr><th class=\"l\">").append(esc(k)).append("</th><td>").append(esc(String.valueOf(run.get(k)))).append("</td></tr>");
        }
        h.append("</table>\n");
    }

    static void tables(StringBuilder h, List<StatsRow> tensors, List<StatsRow> rollups, List<Map<String, Object>> spectrum) {
        section(h, "Model and roles", filter(rollups, "model", "role"), false);
        section(h, "By module kind", filter(rollups, "module_kind"), false);
        section(h, "By layer", filter(rollups, "layer"), false);
        List<StatsRow> anomalies = new ArrayList<>();
        for (StatsRow r : tensors) if (!anomaly(r).isEmpty()) anomalies.add(r);
        h.append("<h2>Anomalies</h2>\n");
        if (anomalies.isEmpty()) h.append("<p>No tensor with NaN/Inf, constant values or excess kurtosis above 50.</p>\n");
        else {
            h.append("<table><tr><th class=\"l\">tensor</th><th class=\"l\">finding</th><th>nan</th><th>inf</th><th>std</th><th>kurtosis</th><th>max|x|/std</th></tr>\n");
            for (StatsRow r : anomalies) {
                h.append("<tr class=\"bad\"><td class=\"l\">").append(esc(r.name())).append("</td><td class=\"l\">").append(esc(anomaly(r)))
                        .append("</td><td>").append(r.nanCount()).append("</td><td>").append(r.infCount()).append("</td><td>")
                        .append(g(r.std())).append("</td><td>").append(g(r.kurtosisExcess())).append("</td><td>").append(g(r.outlierRatio())).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        if (spectrum != null) spectrumAnomalies(h, spectrum);
        section(h, "Tensors", tensors, true);
        h.append("<p>Definitions: population std and excess kurtosis (numpy ddof=0); quantiles are inverted-CDF, exact for stored dtypes "
                + "of at most 16 bits, else within 0.4 % (relative) of the exact value; beta is the generalized-Gaussian shape by maximum "
                + "likelihood on all values. Full precision values are in the JSON, CSV and Parquet tables.</p>\n");
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
        h.append("<table><tr><th class=\"l\">matrix</th><th>alpha</th><th>D</th><th class=\"l\">status</th></tr>\n");
        for (Map<String, Object> r : odd) {
            h.append("<tr class=\"bad\"><td class=\"l\">").append(esc(String.valueOf(r.get("name")))).append("</td><td>")
                    .append(g(((Number) r.get("alpha")).doubleValue())).append("</td><td>").append(g(num(r.get("D")))).append("</td><td class=\"l\">")
                    .append(esc(String.valueOf(r.get("alpha_status")))).append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    static void spectrumTable(StringBuilder h, List<Map<String, Object>> spectrum) {
        h.append("<h2>Matrices</h2>\n<table><tr><th class=\"l\">matrix</th><th>N x M</th><th>sv_max</th><th>stable rank</th><th>eff. rank</th>"
                + "<th>entropy</th><th>alpha</th><th>D</th><th>spikes</th><th class=\"l\">method / status</th></tr>\n");
        for (Map<String, Object> r : spectrum) {
            boolean ok = "ok".equals(r.get("status"));
            h.append(ok ? "<tr>" : "<tr class=\"bad\">").append("<td class=\"l\">").append(esc(String.valueOf(r.get("name")))).append("</td><td>")
                    .append(r.get("N")).append(" x ").append(r.get("M")).append("</td><td>").append(g(num(r.get("sv_max")))).append("</td><td>")
                    .append(g(num(r.get("stable_rank")))).append("</td><td>").append(g(num(r.get("effective_rank")))).append("</td><td>")
                    .append(g(num(r.get("entropy")))).append("</td><td>").append(g(num(r.get("alpha")))).append("</td><td>")
                    .append(g(num(r.get("D")))).append("</td><td>").append(r.get("num_pl_spikes") == null ? "" : r.get("num_pl_spikes"))
                    .append("</td><td class=\"l\">").append(esc(ok ? String.valueOf(r.get("method")) : String.valueOf(r.get("status"))))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** Why a tensor deserves a look, or "" when it does not. */
    public static String anomaly(StatsRow r) {
        List<String> why = new ArrayList<>();
        if (r.nanCount() > 0) why.add("NaN values");
        if (r.infCount() > 0) why.add("Inf values");
        if (r.finite() > 1 && r.std() == 0) why.add("constant");
        else if (r.finite() > 1 && r.std() < 1e-8 * Math.max(1e-30, Math.abs(r.mean()))) why.add("near-zero variance");
        if (r.kurtosisExcess() > 50) why.add("heavy tails (kurtosis > 50)");
        return String.join(", ", why);
    }

    private static List<StatsRow> filter(List<StatsRow> rows, String... levels) {
        List<StatsRow> out = new ArrayList<>();
        for (StatsRow r : rows) for (String l : levels) if (r.level().equals(l)) out.add(r);
        return out;
    }

    private static void section(StringBuilder h, String title, List<StatsRow> rows, boolean tensorCols) {
        h.append("<h2>").append(esc(title)).append("</h2>\n<table><tr><th class=\"l\">")
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
        h.append("</table>\n");
    }

    static String g(double d) {
        return Double.isNaN(d) ? "&ndash;" : String.format(Locale.ROOT, "%.4g", d);
    }

    static String esc(String s) {
        if (s == null) return "";
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
