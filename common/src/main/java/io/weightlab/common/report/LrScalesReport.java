package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The page of {@code lr-scales} ({@link ReportPage}): each parameter block's SGD-SaI learning-rate scale and gradient
 * signal-to-noise ratio by layer, one line per module kind, and every block in a sortable table (docs/algorithms.md
 * §7.3). Only the small per-block rows travel: name, elements, ‖g‖, std, G, scale, lr.
 */
public final class LrScalesReport {
    private static final List<String> COLUMNS = List.of("name", "elements", "grad_norm", "grad_std", "gsnr", "lr_scale", "lr");

    private LrScalesReport() {}

    public static String render(Map<String, Object> run, List<Map<String, Object>> blocks) {
        StringBuilder h = new StringBuilder(16 * 1024);
        h.append("<table class=\"facts\">");
        for (String k : List.of("model", "gradients", "lr", "eps", "normalize", "blocks", "seconds")) {
            Object v = run.get(k);
            if (v != null) ReportPage.fact(h, k, v);
        }
        h.append("</table>\n");
        long zero = blocks.stream().filter(b -> b.get("lr_scale") instanceof Number n && n.doubleValue() == 0).count();
        if (zero > 0) h.append("<p class=\"warn\">").append(zero).append(" block(s) had an all-zero gradient: scale 0 (they are not trained).</p>\n");
        h.append("<section id=\"lr\"><h2>Learning-rate scale by layer</h2><div id=\"lr-layers\" class=\"charts\"></div>\n")
                .append("<h2>Blocks</h2><div id=\"lr-table\" class=\"table-box\"></div></section>\n");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map<String, Object> b : blocks) {
            Map<String, Object> r = new LinkedHashMap<>();
            for (String k : COLUMNS) r.put(k, b.get(k) instanceof Double d ? ReportData.num(d) : b.get(k));
            rows.add(r);
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "lr-scales");
        data.put("lr", Map.of("blocks", rows));
        return ReportPage.render("WeightLab learning-rate scales " + run.getOrDefault("model", ""), h.toString(), data);
    }
}
