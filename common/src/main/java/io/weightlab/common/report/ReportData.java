package io.weightlab.common.report;

import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.TensorHistogram;
import org.apache.commons.math3.special.Gamma;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON a report page embeds: small per-tensor and per-matrix rows and pre-binned histograms, never raw values
 * or singular values (a 1B-shape checkpoint's page stays a few hundred KB of data next to ECharts' 1 MB).
 * report.js draws everything from it.
 */
public final class ReportData {
    private ReportData() {}

    /** Spectrum columns shown in the matrix table, in order; a column no row has is not shown. Add new metrics here. */
    public static final List<String> SPECTRUM_COLUMNS = List.of("N", "M", "sv_max", "stable_rank", "effective_rank", "entropy",
            "alpha", "D", "xmin", "num_pl_spikes", "alpha_weighted", "log_spectral_norm",
            "mp_sigma2", "mp_lambda_plus", "mp_num_spikes", "mp_softrank", "mp_spike_mass", "traps");

    /**
     * Eigenvalue-valued columns drawn as a vertical line in every ESD (column, label, colour). The place for the
     * spectral issue's Marchenko–Pastur bulk edge and spike threshold: a column listed here and present in a
     * row is drawn; absent columns are skipped.
     */
    public static final List<List<String>> ESD_MARKERS = List.of(
            List.of("xmin", "xmin", "#d62728"),
            List.of("mp_lambda_plus", "MP bulk edge λ+", "#2ca02c"),
            List.of("mp_spike_threshold", "spike threshold", "#ff7f0e"));

    /** Bins of the log10-eigenvalue histogram of one ESD (WeightWatcher draws 100; 60 keep the page small). */
    static final int ESD_BINS = 60;

    /** Heavy tails are judged on matrices only: a norm vector of 384 values has no meaningful excess kurtosis rule. */
    static final long HEAVY_TAIL_MIN_ELEMENTS = 4096;

    public static Map<String, Object> stats(List<StatsRow> tensors, TensorHistogram hist) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (StatsRow r : tensors) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", r.name());
            m.put("dtype", r.dtype() + (r.dequantized() ? " (deq)" : ""));
            m.put("shape", r.shape() == null ? "" : r.shape().toString());
            m.put("ndim", r.shape() == null ? 0 : r.shape().size());
            m.put("kind", r.moduleKind());
            m.put("role", r.role());
            m.put("layer", r.layer());
            m.put("elements", r.elements());
            m.put("mean", num(r.mean()));
            m.put("std", num(r.std()));
            m.put("skewness", num(r.skewness()));
            m.put("kurtosis", num(r.kurtosisExcess()));
            m.put("beta", num(r.gg() == null ? Double.NaN : r.gg().beta()));
            m.put("best_fit", r.gg() == null || r.gg().best() == null ? "" : r.gg().best().replace("generalized_gaussian", "GG"));
            m.put("min", num(r.min()));
            m.put("max", num(r.max()));
            m.put("outlier_ratio", num(r.outlierRatio()));
            m.put("zero_pct", num(100 * r.zeroFraction()));
            m.put("q01", num(r.quantiles()[0]));
            m.put("q50", num(r.quantiles()[3]));
            m.put("q99", num(r.quantiles()[6]));
            m.put("nan_inf", r.nanCount() + r.infCount());
            m.put("finding", anomaly(r));
            rows.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tensors", rows);
        out.put("histogram", hist == null ? null : histogram(hist));
        return out;
    }

    /** Why a tensor deserves a look, or "" when it does not. Heavy tails only for matrices of some size. */
    public static String anomaly(StatsRow r) {
        List<String> why = new ArrayList<>();
        if (r.nanCount() > 0) why.add(r.nanCount() + " NaN values");
        if (r.infCount() > 0) why.add(r.infCount() + " Inf values");
        if (r.finite() > 1 && r.std() == 0) why.add("constant (std 0)");
        else if (r.finite() > 1 && r.std() < 1e-8 * Math.max(1e-30, Math.abs(r.mean()))) why.add("near-zero variance (std < 1e-8 |mean|)");
        boolean matrix = r.shape() != null && r.shape().size() >= 2 && r.elements() >= HEAVY_TAIL_MIN_ELEMENTS;
        if (matrix && r.kurtosisExcess() > 50) why.add(String.format(java.util.Locale.ROOT, "heavy tails (excess kurtosis %.3g > 50)", r.kurtosisExcess()));
        return String.join("; ", why);
    }

    /** Every tensor's histogram as {@link #histogram} draws it, in the order given. */
    public static List<Map<String, Object>> histograms(List<TensorHistogram> hs) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (TensorHistogram h : hs) out.add(histogram(h));
        return out;
    }

    /** The value histogram as densities on its bin centres, with GG, Gaussian and Laplace densities at the same points. */
    static Map<String, Object> histogram(TensorHistogram hist) {
        double[] e = hist.edges();
        long[] c = hist.counts();
        long n = Arrays.stream(c).sum();
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (int i = 0; i < c.length; i++) {
            x.add(num((e[i] + e[i + 1]) / 2));
            y.add(n == 0 || c[i] == 0 ? null : num(c[i] / (n * (e[i + 1] - e[i]))));
        }
        Map<String, Object> fits = new LinkedHashMap<>();
        GgFit g = hist.fit();
        if (g != null && Double.isFinite(g.beta()) && hist.std() > 0) {
            double mu = g.mu(), a = g.alpha(), b = g.beta(), sd = hist.std(), lap = sd / Math.sqrt(2);
            double norm = b / (2 * a * Math.exp(Gamma.logGamma(1 / b)));
            fits.put(String.format(java.util.Locale.ROOT, "generalized Gaussian (β %.2f)", b), curve(x, v -> norm * Math.exp(-Math.pow(Math.abs(v - mu) / a, b))));
            fits.put("Gaussian (same std)", curve(x, v -> Math.exp(-0.5 * Math.pow((v - mu) / sd, 2)) / (sd * Math.sqrt(2 * Math.PI))));
            fits.put("Laplace (same std)", curve(x, v -> Math.exp(-Math.abs(v - mu) / lap) / (2 * lap)));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tensor", hist.tensor());
        out.put("x", x);
        out.put("density", y);
        out.put("fits", fits);
        return out;
    }

    private static List<Double> curve(List<Double> x, java.util.function.DoubleUnaryOperator f) {
        List<Double> out = new ArrayList<>();
        for (Double v : x) {
            double d = f.applyAsDouble(v);
            out.add(d > 1e-300 ? num(d) : null); // a log-density axis cannot show 0
        }
        return out;
    }

    public static Map<String, Object> spectrum(List<Map<String, Object>> matrices, Map<String, double[]> singularValues) {
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Object> esd = new LinkedHashMap<>();
        for (Map<String, Object> r : matrices) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", r.get("name"));
            m.put("kind", r.get("module_kind"));
            m.put("layer", r.get("layer"));
            m.put("status", r.get("status"));
            m.put("alpha_status", r.get("alpha_status"));
            for (String k : SPECTRUM_COLUMNS) m.put(k, r.get(k) instanceof Double d ? num(d) : r.get(k));
            for (List<String> mk : ESD_MARKERS) if (r.get(mk.get(0)) instanceof Number v) m.put(mk.get(0), num(v.doubleValue()));
            rows.add(m);
            double[] sv = singularValues == null ? null : singularValues.get(String.valueOf(r.get("name")));
            if ("ok".equals(r.get("status")) && sv != null && sv.length > 0) esd.put(String.valueOf(r.get("name")), esd(sv, r.get("xmin")));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("matrices", rows);
        out.put("esd", esd);
        List<Map<String, String>> markers = new ArrayList<>();
        for (List<String> mk : ESD_MARKERS) markers.add(Map.of("key", mk.get(0), "label", mk.get(1), "color", mk.get(2)));
        out.put("markers", markers);
        return out;
    }

    /**
     * Histogram of log10 λ (λ = σ², zeros left out and counted) over equal bins, and the fraction of eigenvalues at
     * or above xmin, which scales the fitted power law's density in log10 space (docs/algorithms.md, report).
     */
    static Map<String, Object> esd(double[] sv, Object xminValue) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        int zeros = 0;
        double[] u = new double[sv.length];
        for (int i = 0; i < sv.length; i++) {
            double ev = sv[i] * sv[i];
            if (!(ev > 0)) { zeros++; u[i] = Double.NaN; continue; }
            u[i] = Math.log10(ev);
            lo = Math.min(lo, u[i]);
            hi = Math.max(hi, u[i]);
        }
        if (hi <= lo) { lo -= 0.5; hi += 0.5; }
        double w = (hi - lo) / ESD_BINS;
        long[] counts = new long[ESD_BINS];
        double xmin = xminValue instanceof Number x ? x.doubleValue() : Double.NaN;
        long tail = 0;
        for (int i = 0; i < sv.length; i++) {
            if (Double.isNaN(u[i])) continue;
            counts[Math.min(ESD_BINS - 1, (int) ((u[i] - lo) / w))]++;
            if (sv[i] * sv[i] >= xmin) tail++;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lo", num(lo));
        m.put("width", num(w));
        m.put("counts", counts);
        m.put("n", sv.length);
        m.put("zeros", zeros);
        m.put("tail", tail);
        m.put("log10_max", num(hi));
        return m;
    }

    /**
     * Six significant digits, exactly what {@code %.6g} prints: the page shows values, the JSON/CSV/Parquet outputs
     * keep full precision. A page calls this for every histogram and curve point, and String.format was most of a
     * MiniLM stats job's report time (profiled, BENCHMARKS.md "Job start-up"), so the usual case is arithmetic: scale
     * to six integer digits by an exact power of ten and round; near a tie or outside 1e±22 it formats the decimal.
     */
    static Double num(double d) {
        if (!Double.isFinite(d)) return null;
        if (d == 0) return 0.0;
        double ad = Math.abs(d);
        int k = 5 - (int) Math.floor(Math.log10(ad));
        double s = scaled(ad, k);
        if (s < 1e5) s = scaled(ad, ++k);
        else if (s >= 1e6) s = scaled(ad, --k);
        double frac = s - Math.floor(s);
        if (s >= 1e5 && s < 1e6 && Math.abs(frac - 0.5) > 1e-6) {
            double m = Math.floor(s + 0.5);
            // m < 2^53 and 10^|k| are exact, so one division (or product) is the correctly rounded decimal m·10^-k
            return Math.copySign(k >= 0 ? m / POW10[k] : m * POW10[-k], d);
        }
        return new java.math.BigDecimal(Double.toString(d)).round(SIX_DIGITS).doubleValue();
    }

    private static final java.math.MathContext SIX_DIGITS = new java.math.MathContext(6, java.math.RoundingMode.HALF_UP);
    private static final double[] POW10 = new double[23]; // 10^0..10^22, all exact in a double
    static {
        POW10[0] = 1;
        for (int i = 1; i < POW10.length; i++) POW10[i] = POW10[i - 1] * 10;
    }

    /** ad·10^k when the power is exact, NaN (the slow path) otherwise. */
    private static double scaled(double ad, int k) {
        if (k >= 0 && k < POW10.length) return ad * POW10[k];
        if (k < 0 && -k < POW10.length) return ad / POW10[-k];
        return Double.NaN;
    }
}
