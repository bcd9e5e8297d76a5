package io.weightlab.common.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The page of a federated round ({@code fedavg}'s report.html, {@code report --fedavg}; {@link ReportPage}): each
 * client's weight, update norm, cosine to the mean update and clip factor with its status (aggregated, dropped and
 * why, not selected by a robust selector), the per-tensor client spread and variance correction (or, for LoRA rounds,
 * each module's residual), and the privacy spent over the chain of DP rounds.
 */
public final class FedRoundReport {
    private FedRoundReport() {}

    /** @param report round_report.json as read; @param privacyRounds server_state/privacy.json's "rounds", or null */
    @SuppressWarnings("unchecked")
    public static String render(Map<String, Object> report, List<Map<String, Object>> privacyRounds) {
        Map<String, Object> run = (Map<String, Object>) report.getOrDefault("run", Map.of());
        List<Map<String, Object>> clients = (List<Map<String, Object>>) report.getOrDefault("clients", List.of());
        StringBuilder h = new StringBuilder(32 * 1024);
        h.append("<table class=\"facts\">");
        for (String k : List.of("job", "round", "manifest", "reference", "method", "weighting", "bad_clients", "clip", "variance_correction", "seconds")) {
            Object v = run.get(k);
            if (v != null && !String.valueOf(v).isEmpty()) ReportPage.fact(h, k, v);
        }
        if (run.get("dp") instanceof Map<?, ?> dp) {
            for (String k : List.of("noise_multiplier", "clip", "noise_std", "delta", "epsilon", "epsilon_budget")) if (dp.get(k) != null) ReportPage.fact(h, "dp " + k, dp.get(k));
        }
        h.append("</table>\n");
        long dropped = clients.stream().filter(c -> "dropped".equals(c.get("status"))).count();
        long notSelected = clients.stream().filter(c -> "not_selected".equals(c.get("status"))).count();
        h.append("<p>").append(clients.size() - dropped - notSelected).append(" of ").append(clients.size()).append(" client(s) aggregated")
                .append(dropped > 0 ? ", " + dropped + " dropped" : "").append(notSelected > 0 ? ", " + notSelected + " not selected" : "").append(".</p>\n");
        h.append("<section id=\"fed\"><h2>Clients</h2><div id=\"fed-clients\" class=\"charts\"></div>\n")
                .append("<div id=\"fed-client-table\" class=\"table-box\"></div>\n");
        boolean lora = report.get("modules") != null;
        h.append("<h2>").append(lora ? "Modules" : "Tensors").append("</h2><div id=\"fed-tensors\" class=\"charts\"></div>\n")
                .append("<div id=\"fed-tensor-table\" class=\"table-box\"></div>\n");
        if (privacyRounds != null && !privacyRounds.isEmpty()) h.append("<h2>Privacy spent</h2><div id=\"fed-privacy\" class=\"charts\"></div>\n");
        h.append("</section>\n");

        Map<String, Object> f = new LinkedHashMap<>();
        f.put("clients", clients);
        f.put("lora", lora);
        f.put("tensors", lora ? report.get("modules") : report.getOrDefault("tensors", List.of()));
        if (privacyRounds != null) f.put("privacy", privacyRounds);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", "fedavg");
        data.put("fed", f);
        Object round = run.get("round"); // optional in the manifest: no "null" in the title
        return ReportPage.render("WeightLab federated round" + (round == null ? "" : " " + round), h.toString(), data);
    }


    /** The rows of a list, for callers that hold a parsed JSON array. */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> rows(Object o) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (o instanceof List<?> l) for (Object x : l) if (x instanceof Map<?, ?> m) out.add((Map<String, Object>) m);
        return out;
    }
}
