package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The page of one or more fleet datasets ({@code report --fleet}; {@link ReportPage}), at most one each of stats,
 * spectrum and compare over the same checkpoints. From stats: per module kind the trend of std, excess kurtosis and
 * max|x|/std across the checkpoints (a numeric step axis with lines when every checkpoint has a step, else points
 * per checkpoint), a layer x checkpoint heatmap and the layers that drifted most from their series' first
 * checkpoint. From spectrum: the median α per module kind across the checkpoints and every matrix whose α left
 * [2, 6]. From compare: rel_delta and rotation per layer x checkpoint and the largest changes. Then every checkpoint
 * in one table (a row opens its details: its layers and matrices and its files in each dataset) and every run
 * record (what each run analysed, the checkpoints it skipped and why). The tables of findings are rendered on the
 * server, so they are complete without JavaScript.
 */
public final class FleetReport {
    private FleetReport() {}

    /** One dataset as {@code FleetDatasetReader} reads it: its URI, the job that wrote it, its page rows and run records. */
    public record Dataset(String uri, String job, List<Map<String, Object>> rows, List<Map<String, Object>> runs) {}

    /** Checkpoints in page order: by model, then step (none last), then URI. */
    static final Comparator<Map<String, Object>> ORDER = Comparator.comparing((Map<String, Object> r) -> String.valueOf(r.get("model")))
            .thenComparing(r -> (Long) r.get("step"), Comparator.nullsLast(Comparator.naturalOrder()))
            .thenComparing(r -> String.valueOf(r.get("uri")));

    public static String render(List<Dataset> datasets) {
        Map<String, Dataset> byJob = new LinkedHashMap<>();
        for (Dataset d : datasets) {
            if (byJob.put(d.job(), d) != null) throw new IllegalArgumentException("two " + d.job() + " datasets for one page");
        }
        Map<String, Map<String, Object>> checkpoints = new LinkedHashMap<>();
        Map<String, Object> f = new LinkedHashMap<>();
        StringBuilder body = new StringBuilder(32 * 1024);
        Dataset stats = byJob.get("stats"), spectrum = byJob.get("spectrum"), compare = byJob.get("compare");
        if (stats != null) FleetSections.stats(stats, checkpoints, f, body);
        if (spectrum != null) FleetSections.spectrum(spectrum, checkpoints, f, body);
        if (compare != null) FleetSections.compare(compare, checkpoints, f, body);
        List<Map<String, Object>> cks = new ArrayList<>(checkpoints.values());
        cks.sort(ORDER);
        f.put("checkpoints", cks);
        f.put("datasets", byJob.keySet());

        Set<String> models = new LinkedHashSet<>();
        long withNonFinite = 0, withAlphaOut = 0;
        for (Map<String, Object> c : cks) {
            models.add(String.valueOf(c.get("model")));
            if (num(c.get("nan_count")) + num(c.get("inf_count")) > 0) withNonFinite++;
            if (num(c.get("alpha_out")) > 0) withAlphaOut++;
        }
        StringBuilder h = new StringBuilder(body.length() + 8 * 1024);
        h.append("<table class=\"facts\">");
        for (Dataset d : byJob.values()) ReportPage.fact(h, d.job() + " dataset", d.uri());
        ReportPage.fact(h, "checkpoints", cks.size());
        ReportPage.fact(h, "models", String.join(", ", models));
        if (stats != null) ReportPage.fact(h, "checkpoints holding NaN/Inf", withNonFinite);
        if (spectrum != null) ReportPage.fact(h, "checkpoints with a matrix's α outside [2, 6]", withAlphaOut);
        h.append("</table>\n<section id=\"fleet\">\n").append(body);
        h.append("<h2>Checkpoints</h2><p class=\"note\">A row opens the checkpoint's details: its layers and matrices, and its file in each dataset.</p>")
                .append("<div id=\"fleet-table\" class=\"table-box\"></div>\n<div id=\"fleet-detail\"></div>\n");
        runsTable(h, byJob.values());
        h.append("</section>\n");
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "fleet");
        data.put("fleet", f);
        return ReportPage.render("WeightLab fleet " + String.join(" + ", byJob.values().stream().map(Dataset::uri).distinct().toList()), h.toString(), data);
    }

    /** The checkpoint's entry of the page's table, made on first sight: its model, step and URI. */
    static Map<String, Object> checkpoint(Map<String, Map<String, Object>> checkpoints, Map<String, Object> row) {
        String uri = String.valueOf(row.get("checkpoint_uri"));
        return checkpoints.computeIfAbsent(uri, u -> {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("model", row.get("model"));
            c.put("step", row.get("step"));
            c.put("uri", u);
            c.put("files", new LinkedHashMap<String, String>());
            return c;
        });
    }

    /** Every run of every dataset: when, what it wrote, what it left unchanged, removed or could not read. */
    @SuppressWarnings("unchecked")
    private static void runsTable(StringBuilder h, Iterable<Dataset> datasets) {
        h.append("<h2>Runs</h2>\n<div class=\"table-box\"><table id=\"fleet-runs\"><thead><tr><th class=\"l\">dataset</th><th class=\"l\">run</th>")
                .append("<th class=\"l\">mode</th><th class=\"l\">finished</th><th>written</th><th>unchanged</th><th>removed</th>")
                .append("<th>seconds</th><th class=\"l\">bad checkpoints (skipped, nothing written)</th></tr></thead><tbody>\n");
        for (Dataset d : datasets) {
            for (Map<String, Object> r : d.runs()) {
                List<Map<String, Object>> bad = r.get("bad_checkpoints") instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
                Object written = r.containsKey("analysed") ? r.get("analysed") : r.get("compared");
                Object removed = r.containsKey("pruned") ? r.get("pruned") : null;
                h.append(bad.isEmpty() ? "<tr>" : "<tr class=\"bad\">")
                        .append("<td class=\"l\">").append(StatsHtmlReport.esc(d.job())).append("</td><td class=\"l\">")
                        .append(StatsHtmlReport.esc(String.valueOf(r.get("run_id")))).append("</td><td class=\"l\">")
                        .append(StatsHtmlReport.esc(String.valueOf(r.get("mode")))).append("</td><td class=\"l\">")
                        .append(StatsHtmlReport.esc(String.valueOf(r.get("finished")))).append("</td><td>")
                        .append(size(written)).append("</td><td>").append(r.get("unchanged") == null ? "" : r.get("unchanged")).append("</td><td>")
                        .append(removed == null ? "" : size(removed)).append("</td><td>")
                        .append(r.get("seconds") instanceof Number n ? String.format(java.util.Locale.ROOT, "%.1f", n.doubleValue()) : "").append("</td><td class=\"l\">");
                for (int i = 0; i < bad.size(); i++) {
                    Map<String, Object> b = bad.get(i);
                    h.append(i > 0 ? "<br>" : "").append(StatsHtmlReport.esc(b.get("uri") + ": " + b.get("type") + ": " + b.get("error")));
                }
                h.append("</td></tr>\n");
            }
        }
        h.append("</tbody></table></div>\n");
    }

    private static String size(Object list) { return list instanceof List<?> l ? Integer.toString(l.size()) : ""; }

    /** The row's identity (model, step, uri) and the named columns, non-finite numbers as null. */
    static Map<String, Object> slim(Map<String, Object> r, String... keys) {
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

    /** Layer names in natural order (layers.2 before layers.10). */
    static List<String> naturalKeys(List<Map<String, Object>> rows, String key) {
        Set<String> keys = new TreeSet<>(io.weightlab.common.io.NaturalOrder.INSTANCE);
        for (Map<String, Object> l : rows) keys.add(String.valueOf(l.get(key)));
        return new ArrayList<>(keys);
    }

    static long num(Object v) { return v instanceof Number n ? n.longValue() : 0; }
}
