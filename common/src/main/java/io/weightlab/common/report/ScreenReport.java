package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The page of {@code merge --screen} ({@link ReportPage}): the run's facts and every candidate in a sortable table,
 * in rank order, with its whole-model scores (docs/algorithms.md §32.8) and, with {@code --spectra-alpha}, its merged
 * matrices' mean α and how many are outside [2, 6]. Only the ranked rows travel, not the
 * per-tensor table (that is screen_tensors.csv).
 */
public final class ScreenReport {
    private static final List<String> COLUMNS = List.of("rank", "name", "method", "score", "mean_cosine", "min_cosine", "min_sign_agreement",
            "rel_change", "mean_alpha", "alpha_out_of_range", "top_dir");

    private ScreenReport() {}

    public static String render(Map<String, Object> run, List<Map<String, Object>> ranked) {
        StringBuilder h = new StringBuilder(16 * 1024);
        h.append("<table class=\"facts\">");
        for (String k : List.of("screen", "base_model", "models", "candidates", "rank_by", "passes", "input_reads", "spectra_matrices", "spectra_alpha", "seconds")) {
            Object v = run.get(k);
            if (v != null) ReportPage.fact(h, k, v);
        }
        h.append("</table>\n");
        h.append("<section id=\"screen\"><h2>Candidates, best first by ").append(run.getOrDefault("rank_by", ""))
                .append("</h2><div id=\"screen-table\" class=\"table-box\"></div></section>\n");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map<String, Object> c : ranked) {
            Map<String, Object> r = new LinkedHashMap<>();
            for (String k : COLUMNS) r.put(k, c.get(k) instanceof Double d ? ReportData.num(d) : c.get(k));
            rows.add(r);
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "screen");
        data.put("screen", Map.of("candidates", rows));
        return ReportPage.render("WeightLab merge screen " + run.getOrDefault("screen", ""), h.toString(), data);
    }
}
