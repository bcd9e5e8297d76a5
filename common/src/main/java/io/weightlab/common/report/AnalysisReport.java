package io.weightlab.common.report;

import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.TensorHistogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The analysis report of a stats run, a spectrum run, or both: one interactive offline page ({@link ReportPage}).
 * Stats: a layer x module-kind heatmap with a metric switch, metrics by layer (log/linear, robust range with
 * outliers marked), the value histogram with GG/Gaussian/Laplace, anomalies with reasons, a sortable and
 * filterable tensor table. Spectrum: alpha by layer with the [2, 6] band, alpha against stable rank (and
 * kurtosis), an ESD for every analysed matrix, every matrix not analysed with its reason.
 */
public final class AnalysisReport {
    private AnalysisReport() {}

    public static String render(Map<String, Object> run, List<StatsRow> tensors, List<StatsRow> rollups, TensorHistogram hist,
                                List<Map<String, Object>> spectrum, Map<String, double[]> singularValues) {
        return render(run, tensors, rollups, hist, null, spectrum, singularValues);
    }

    /** {@code histograms}: every tensor's value histogram for the values gallery (null or empty: no gallery). */
    public static String render(Map<String, Object> run, List<StatsRow> tensors, List<StatsRow> rollups, TensorHistogram hist,
                                List<TensorHistogram> histograms, List<Map<String, Object>> spectrum, Map<String, double[]> singularValues) {
        String title = run == null ? "WeightLab report" : "WeightLab report: " + run.get("input");
        StringBuilder h = new StringBuilder(64 * 1024);
        if (run != null) StatsHtmlReport.facts(h, run);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "analysis");
        boolean stats = tensors != null && !tensors.isEmpty();
        boolean spec = spectrum != null && !spectrum.isEmpty();
        h.append("<nav class=\"toc\">");
        if (stats) h.append("<a href=\"#stats\">distributions</a><a href=\"#anomalies\">anomalies</a><a href=\"#tensors\">tensors</a>");
        if (spec) h.append("<a href=\"#spectra\">spectra</a><a href=\"#gallery\">ESD gallery</a><a href=\"#matrices\">matrices</a>");
        h.append("</nav>\n");
        if (stats) {
            Map<String, Object> st = ReportData.stats(tensors, hist);
            if (histograms != null && !histograms.isEmpty()) st.put("histograms", ReportData.histograms(histograms));
            data.put("stats", st);
            h.append("<section id=\"stats\"><h2>Layer x module kind</h2><div id=\"heatmap\" class=\"panel\"></div>\n")
                    .append("<h2>By layer</h2><div id=\"layer-lines\" class=\"charts\"></div>\n");
            if (hist != null) h.append("<h2>Values of one tensor</h2><div id=\"histogram\" class=\"charts\"></div>\n");
            if (histograms != null && !histograms.isEmpty()) {
                h.append("<h2>Values of every tensor</h2><p class=\"note\">Density of the values between each tensor's 0.1 % and 99.9 % "
                                + "quantiles on a log axis, so the tails show, with the generalized Gaussian fitted by maximum likelihood and "
                                + "the Gaussian and Laplace of the same std; counts are exact for stored dtypes of at most 16 bits. Charts "
                                + "are drawn as they scroll into view.</p>")
                        .append("<input id=\"values-filter\" class=\"filter\" placeholder=\"filter tensors (name or kind)\">")
                        .append("<div id=\"values-gallery\" class=\"gallery\"></div>\n");
            }
            h.append("</section>\n<section id=\"anomalies\">");
            StatsHtmlReport.anomalies(h, tensors);
            if (spec) StatsHtmlReport.spectrumAnomalies(h, spectrum);
            h.append("</section>\n<section id=\"tensors\"><h2>Tensors</h2><div id=\"tensor-table\" class=\"table-box\"></div>")
                    .append("<p class=\"note\">Population std and excess kurtosis (numpy ddof=0); quantiles are inverted-CDF, exact for stored dtypes "
                            + "of at most 16 bits, else within 0.4 % of the exact value; β is the generalized-Gaussian shape by maximum "
                            + "likelihood. The page rounds to 6 digits; the JSON, CSV and Parquet tables have full precision.</p>")
                    .append("<details><summary>Roll-ups (model, role, module kind, layer)</summary>");
            StatsHtmlReport.rollups(h, rollups == null ? List.of() : rollups);
            h.append("</details></section>\n");
        }
        if (spec) {
            data.put("spectrum", ReportData.spectrum(spectrum, singularValues));
            h.append("<section id=\"spectra\"><h2>Spectra</h2><div id=\"spectrum-charts\" class=\"charts\"></div>\n");
            if (!stats) StatsHtmlReport.spectrumAnomalies(h, spectrum);
            notAnalysed(h, spectrum);
            h.append("</section>\n<section id=\"gallery\"><h2>ESD gallery</h2><p class=\"note\">Histogram of log₁₀ of the eigenvalues λ = σ² "
                            + "of every analysed matrix (density), the start of the fitted tail x_min (red) and the fitted power law "
                            + "p(λ) ∝ λ^−α drawn as a density of log₁₀ λ from x_min on; charts are drawn as they scroll into view.</p>"
                            + "<input id=\"esd-filter\" class=\"filter\" placeholder=\"filter matrices (name or kind)\">"
                            + "<div id=\"esd-gallery\" class=\"gallery\"></div></section>\n")
                    .append("<section id=\"matrices\"><h2>Matrices</h2><div id=\"matrix-table\" class=\"table-box\"></div></section>\n");
        }
        return ReportPage.render(title, h.toString(), data);
    }

    static void notAnalysed(StringBuilder h, List<Map<String, Object>> spectrum) {
        List<Map<String, Object>> skipped = new ArrayList<>();
        for (Map<String, Object> r : spectrum) if (!"ok".equals(r.get("status"))) skipped.add(r);
        h.append("<h2>Not analysed</h2>\n");
        if (skipped.isEmpty()) {
            h.append("<p>Every 2-D weight matrix was analysed.</p>\n");
            return;
        }
        h.append("<div class=\"table-box\"><table id=\"not-analysed\"><tr><th class=\"l\">matrix</th><th>N x M</th><th class=\"l\">reason</th></tr>\n");
        for (Map<String, Object> r : skipped) {
            h.append("<tr><td class=\"l\">").append(StatsHtmlReport.esc(String.valueOf(r.get("name")))).append("</td><td>").append(r.get("N"))
                    .append(" x ").append(r.get("M")).append("</td><td class=\"l\">")
                    .append(StatsHtmlReport.esc(String.valueOf(r.get("status")).replaceFirst("^not analysed: ", ""))).append("</td></tr>\n");
        }
        h.append("</table></div>\n");
    }
}
