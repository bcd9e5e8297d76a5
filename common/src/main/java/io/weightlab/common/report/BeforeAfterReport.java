package io.weightlab.common.report;

import io.weightlab.common.stats.StatsRow;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Two runs of one architecture on one page ({@code report --stats A --stats B}, and/or two spectrum runs): base vs
 * TVR, init vs trained, global vs a client. Tensors are joined by name; the page overlays the metrics by layer,
 * maps the change per layer x module kind and lists the per-tensor differences.
 */
public final class BeforeAfterReport {
    private BeforeAfterReport() {}

    /**
     * @param labels the two runs' names as the page shows them
     * @param stats  the two stats runs' tensor rows, or null
     * @param spectrum the two spectrum runs' matrix rows, or null
     */
    public static String render(List<String> labels, List<Map<String, Object>> runs, List<List<StatsRow>> stats,
                                List<List<Map<String, Object>>> spectrum) {
        StringBuilder h = new StringBuilder(32 * 1024);
        h.append("<table class=\"facts\"><tr><th class=\"l\"></th><th class=\"l\">").append(StatsHtmlReport.esc(labels.get(0)))
                .append("</th><th class=\"l\">").append(StatsHtmlReport.esc(labels.get(1))).append("</th></tr>");
        for (String k : List.of("input", "tensors", "parameters", "matrices", "finished")) {
            if (runs.get(0).get(k) == null && runs.get(1).get(k) == null) continue;
            h.append("<tr><th class=\"l\">").append(k).append("</th><td>").append(StatsHtmlReport.esc(String.valueOf(runs.get(0).get(k))))
                    .append("</td><td>").append(StatsHtmlReport.esc(String.valueOf(runs.get(1).get(k)))).append("</td></tr>");
        }
        h.append("</table>\n");
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "before-after");
        data.put("labels", labels);
        if (stats != null) {
            data.put("stats", List.of(ReportData.stats(stats.get(0), null).get("tensors"), ReportData.stats(stats.get(1), null).get("tensors")));
            h.append("<section id=\"before-after\"><h2>Change per layer x module kind (").append(StatsHtmlReport.esc(labels.get(1))).append(" against ")
                    .append(StatsHtmlReport.esc(labels.get(0))).append(")</h2><div id=\"ba-heatmap\" class=\"panel\"></div>\n")
                    .append("<h2>By layer, both runs</h2><div id=\"ba-lines\" class=\"charts\"></div>\n")
                    .append("<h2>Per tensor (joined by name)</h2><div id=\"ba-table\" class=\"table-box\"></div></section>\n");
        }
        if (spectrum != null) {
            data.put("spectrum", List.of(ReportData.spectrum(spectrum.get(0), null).get("matrices"), ReportData.spectrum(spectrum.get(1), null).get("matrices")));
            h.append("<section id=\"ba-spectra\"><h2>Spectra, both runs</h2><div id=\"ba-spectrum\" class=\"charts\"></div></section>\n");
        }
        return ReportPage.render("WeightLab before/after: " + labels.get(0) + " vs " + labels.get(1), h.toString(), data);
    }
}
