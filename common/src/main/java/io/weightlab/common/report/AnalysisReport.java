package io.weightlab.common.report;

import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.TensorHistogram;
import org.apache.commons.math3.special.Gamma;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.DoubleUnaryOperator;

/**
 * The analysis report: one self-contained HTML file with plots (inline SVG drawn by JFreeChart) and tables, from
 * a stats run, a spectrum run, or both: std, kurtosis and GG shape by layer and module kind; a histogram with
 * the fitted GG, Gaussian and Laplace; log-log spectra with their power-law fits; alpha and stable rank by
 * layer; anomalies (NaN/Inf, near-zero variance, heavy tails, alpha < 2 or > 6).
 */
public final class AnalysisReport {
    private AnalysisReport() {}

    public static String render(Map<String, Object> run, List<StatsRow> tensors, List<StatsRow> rollups, TensorHistogram hist,
                                List<Map<String, Object>> spectrum, Map<String, double[]> singularValues) {
        StringBuilder h = new StringBuilder(256 * 1024);
        String title = run == null ? "WeightLab report" : "WeightLab report: " + run.get("input");
        StatsHtmlReport.head(h, title);
        if (run != null) StatsHtmlReport.facts(h, run);
        if (tensors != null && !tensors.isEmpty()) {
            h.append("<h2>Distributions by layer</h2>\n<div class=\"charts\">");
            h.append(Charts.lines("std by layer", "layer", "std", byLayer(tensors, r -> r.std()), true));
            h.append(Charts.lines("excess kurtosis by layer", "layer", "excess kurtosis", byLayer(tensors, r -> r.kurtosisExcess()), false));
            h.append(Charts.lines("generalized-Gaussian shape (MLE) by layer", "layer", "beta", byLayer(tensors, r -> r.gg() == null ? Double.NaN : r.gg().beta()), false));
            if (hist != null) h.append(histogram(hist));
            h.append("</div>\n");
        }
        if (spectrum != null && !spectrum.isEmpty()) spectra(h, spectrum, singularValues);
        if (tensors != null) StatsHtmlReport.tables(h, tensors, rollups, spectrum);
        else if (spectrum != null) StatsHtmlReport.spectrumAnomalies(h, spectrum);
        if (spectrum != null && !spectrum.isEmpty()) StatsHtmlReport.spectrumTable(h, spectrum);
        h.append("</body></html>\n");
        return h.toString();
    }

    /** Module kind -> (layer, value) of per-tensor rows that have a layer. */
    static Map<String, double[][]> byLayer(List<StatsRow> rows, java.util.function.ToDoubleFunction<StatsRow> f) {
        Map<String, List<double[]>> m = new TreeMap<>();
        for (StatsRow r : rows) {
            if (r.layer() == null || r.role() == null || r.role().equals("quantization") || r.role().equals("buffer")) continue;
            if (r.shape() == null || r.shape().size() < 2) continue; // matrices only
            m.computeIfAbsent(r.moduleKind(), k -> new ArrayList<>()).add(new double[] {r.layer(), f.applyAsDouble(r)});
        }
        Map<String, double[][]> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.toArray(new double[0][])));
        return out;
    }

    static String histogram(TensorHistogram hist) {
        Map<String, DoubleUnaryOperator> pdfs = new LinkedHashMap<>();
        GgFit g = hist.fit();
        if (g != null && Double.isFinite(g.beta())) {
            double mu = g.mu(), a = g.alpha(), b = g.beta();
            double norm = b / (2 * a * Math.exp(Gamma.logGamma(1 / b)));
            pdfs.put(String.format(Locale.ROOT, "generalized Gaussian (beta %.2f)", b), x -> norm * Math.exp(-Math.pow(Math.abs(x - mu) / a, b)));
            double sd = hist.std();
            pdfs.put("Gaussian", x -> Math.exp(-0.5 * Math.pow((x - mu) / sd, 2)) / (sd * Math.sqrt(2 * Math.PI)));
            double lap = sd / Math.sqrt(2);
            pdfs.put("Laplace (same std)", x -> Math.exp(-Math.abs(x - mu) / lap) / (2 * lap));
        }
        return Charts.histogram("values of " + hist.tensor(), hist.edges(), hist.counts(), pdfs);
    }

    static void spectra(StringBuilder h, List<Map<String, Object>> spectrum, Map<String, double[]> svs) {
        h.append("<h2>Spectra</h2>\n<div class=\"charts\">");
        Map<String, List<double[]>> alpha = new TreeMap<>(), stable = new TreeMap<>();
        Map<String, Object> lowest = null, highest = null;
        for (Map<String, Object> r : spectrum) {
            if (!"ok".equals(r.get("status")) || r.get("layer") == null) continue;
            String kind = String.valueOf(r.get("module_kind"));
            double layer = ((Number) r.get("layer")).doubleValue();
            if (r.get("alpha") instanceof Number a && a.doubleValue() > 0) {
                alpha.computeIfAbsent(kind, k -> new ArrayList<>()).add(new double[] {layer, a.doubleValue()});
                if (lowest == null || a.doubleValue() < ((Number) lowest.get("alpha")).doubleValue()) lowest = r;
                if (highest == null || a.doubleValue() > ((Number) highest.get("alpha")).doubleValue()) highest = r;
            }
            if (r.get("stable_rank") instanceof Number s) stable.computeIfAbsent(kind, k -> new ArrayList<>()).add(new double[] {layer, s.doubleValue()});
        }
        if (!alpha.isEmpty()) h.append(Charts.lines("power-law alpha by layer", "layer", "alpha", toArrays(alpha), false));
        if (!stable.isEmpty()) h.append(Charts.lines("stable rank by layer", "layer", "stable rank", toArrays(stable), true));
        for (Map<String, Object> r : new Map[] {lowest, highest}) {
            if (r == null || svs == null || !svs.containsKey(String.valueOf(r.get("name")))) continue;
            h.append(Charts.esd("ESD of " + r.get("name"), svs.get(String.valueOf(r.get("name"))),
                    ((Number) r.get("alpha")).doubleValue(), ((Number) r.get("xmin")).doubleValue()));
        }
        h.append("</div>\n");
    }

    private static Map<String, double[][]> toArrays(Map<String, List<double[]>> m) {
        Map<String, double[][]> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.toArray(new double[0][])));
        return out;
    }
}
