package io.weightlab.common.stats;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One line of the statistics table: a tensor, or a roll-up (layer, module kind, whole model) of several.
 * Definitions: std/variance/skewness/kurtosis are population forms (numpy ddof=0) unless named _sample;
 * kurtosis is excess; quantiles are inverted-CDF, within relative error {@code quantileRelativeError} (0: exact).
 */
public record StatsRow(
        String level, String name, String dtype, List<Long> shape, long tensors, long elements, long finite,
        String stack, Integer layer, String moduleKind, String role, boolean dequantized,
        double mean, double std, double stdSample, double variance, double varianceSample,
        double skewness, double kurtosisExcess, double min, double max, double maxAbs,
        double l1, double l2, double rms, double zeroFraction, long nanCount, long infCount, double outlierRatio,
        double[] quantiles, double quantileRelativeError, GgFit gg) implements Serializable {

    public static final double[] QUANTILE_PROBABILITIES = {0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99};
    public static final String[] QUANTILE_NAMES = {"q01", "q05", "q25", "q50", "q75", "q95", "q99"};

    /** Builds a row from a merged partial; {@code elements} counts every element, finite or not. */
    public static StatsRow of(String level, String name, String dtype, List<Long> shape, long tensors, long elements,
                              String stack, Integer layer, String moduleKind, String role, boolean dequantized,
                              TensorPartial p) {
        MomentAccumulator m = p.moments();
        double std = m.stdPopulation();
        long finite = m.count();
        return new StatsRow(level, name, dtype, shape, tensors, elements, finite, stack, layer, moduleKind, role, dequantized,
                m.mean(), std, m.stdSample(), m.variancePopulation(), m.varianceSample(),
                m.skewness(), m.excessKurtosis(), m.min(), m.max(), m.maxAbs(),
                m.l1(), m.l2(), m.rms(), finite == 0 ? Double.NaN : (double) m.zeroCount() / finite,
                m.nanCount(), m.posInfCount() + m.negInfCount(), std > 0 ? m.maxAbs() / std : Double.NaN,
                p.quantiles().quantiles(QUANTILE_PROBABILITIES), p.quantiles().relativeError(), null);
    }

    /** The same row with a generalized-Gaussian fit attached. */
    public StatsRow withFit(GgFit fit) {
        return new StatsRow(level, name, dtype, shape, tensors, elements, finite, stack, layer, moduleKind, role, dequantized,
                mean, std, stdSample, variance, varianceSample, skewness, kurtosisExcess, min, max, maxAbs, l1, l2, rms,
                zeroFraction, nanCount, infCount, outlierRatio, quantiles, quantileRelativeError, fit);
    }

    /** Reads a row back from its {@link #toMap()} form (JSON null for NaN). */
    public static StatsRow fromMap(Map<String, Object> m) {
        double[] q = new double[QUANTILE_NAMES.length];
        for (int i = 0; i < q.length; i++) q[i] = d(m.get(QUANTILE_NAMES[i]));
        return new StatsRow(str(m.get("level")), str(m.get("name")), str(m.get("dtype")), shape(m.get("shape")), l(m.get("tensors")),
                l(m.get("elements")), l(m.get("finite")), str(m.get("stack")), m.get("layer") == null ? null : ((Number) m.get("layer")).intValue(),
                str(m.get("module_kind")), str(m.get("role")), Boolean.TRUE.equals(m.get("dequantized")),
                d(m.get("mean")), d(m.get("std")), d(m.get("std_sample")), d(m.get("variance")), d(m.get("variance_sample")),
                d(m.get("skewness")), d(m.get("kurtosis_excess")), d(m.get("min")), d(m.get("max")), d(m.get("max_abs")),
                d(m.get("l1")), d(m.get("l2")), d(m.get("rms")), d(m.get("zero_fraction")), l(m.get("nan_count")), l(m.get("inf_count")),
                d(m.get("outlier_ratio")), q, d(m.get("quantile_relative_error")), GgFit.fromMap(m));
    }

    /** A shape read back from JSON: a list of integers (null for roll-ups). */
    static List<Long> shape(Object o) {
        if (!(o instanceof List<?> l)) return null;
        List<Long> s = new ArrayList<>();
        for (Object v : l) s.add(((Number) v).longValue());
        return s;
    }

    static double d(Object o) { return o instanceof Number n ? n.doubleValue() : Double.NaN; }

    static long l(Object o) { return o instanceof Number n ? n.longValue() : 0; }

    static String str(Object o) { return o == null ? null : o.toString(); }

    /** Column name to value, in table order (for JSON, CSV and Parquet alike). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("level", level);
        m.put("name", name);
        m.put("dtype", dtype);
        m.put("shape", shape);
        m.put("tensors", tensors);
        m.put("elements", elements);
        m.put("finite", finite);
        m.put("stack", stack);
        m.put("layer", layer);
        m.put("module_kind", moduleKind);
        m.put("role", role);
        m.put("dequantized", dequantized);
        m.put("mean", mean);
        m.put("std", std);
        m.put("std_sample", stdSample);
        m.put("variance", variance);
        m.put("variance_sample", varianceSample);
        m.put("skewness", skewness);
        m.put("kurtosis_excess", kurtosisExcess);
        m.put("min", min);
        m.put("max", max);
        m.put("max_abs", maxAbs);
        m.put("l1", l1);
        m.put("l2", l2);
        m.put("rms", rms);
        m.put("zero_fraction", zeroFraction);
        m.put("nan_count", nanCount);
        m.put("inf_count", infCount);
        m.put("outlier_ratio", outlierRatio);
        for (int i = 0; i < QUANTILE_NAMES.length; i++) m.put(QUANTILE_NAMES[i], quantiles[i]);
        m.put("quantile_relative_error", quantileRelativeError);
        (gg == null ? GgFit.notFitted("not requested") : gg).toMap().forEach(m::put);
        return m;
    }
}
