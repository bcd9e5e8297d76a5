package io.weightlab.common.optim;

import io.weightlab.common.stats.MomentAccumulator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SGD-SaI's learning-rate scales at initialisation (Xu et al., "No More Adam: Learning Rate Scaling at
 * Initialization is All You Need", arXiv 2412.11768; docs/algorithms.md §7.3): per parameter block (one tensor) the
 * gradient signal-to-noise ratio G = ‖g‖₂ / (std(g) + ε), std unbiased (ddof 1, 0 for a single element), frozen
 * at the first step; the block's learning rate is lr · G / max G (the reference code's normalisation since v1.0.4),
 * or lr · G without it. A block whose gradient is all zeros has G = 0: it gets no learning rate, as the formula
 * gives (the reference code would divide 0 by ε); a constant non-zero gradient has std 0 and G = ‖g‖/ε, the
 * largest ratio, as in the reference code.
 */
public final class GradientSnr {
    public static final double DEFAULT_EPS = 1e-8;

    private GradientSnr() {}

    /** G of one block from its gradient's moments (count, mean, sum of squares in double, merged exactly). */
    public static double of(MomentAccumulator g, double eps) {
        double std = g.count() > 1 ? g.stdSample() : 0;
        return g.l2() / (std + eps);
    }

    /** One row per block: elements, ‖g‖₂, mean, std, G and the learning-rate scale (G / max G, or G). */
    public static Map<String, Map<String, Object>> scales(Map<String, MomentAccumulator> gradients, double eps, boolean normalizeByMax) {
        Map<String, Double> snr = new LinkedHashMap<>();
        double max = 0;
        for (Map.Entry<String, MomentAccumulator> e : gradients.entrySet()) {
            double g = of(e.getValue(), eps);
            snr.put(e.getKey(), g);
            max = Math.max(max, g);
        }
        Map<String, Map<String, Object>> rows = new LinkedHashMap<>();
        for (Map.Entry<String, MomentAccumulator> e : gradients.entrySet()) {
            MomentAccumulator m = e.getValue();
            double g = snr.get(e.getKey());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("elements", m.count());
            r.put("grad_norm", m.l2());
            r.put("grad_mean", m.mean());
            r.put("grad_std", m.count() > 1 ? m.stdSample() : 0.0);
            r.put("gsnr", g);
            r.put("lr_scale", normalizeByMax ? (max > 0 ? g / max : 0.0) : g);
            rows.put(e.getKey(), r);
        }
        return rows;
    }
}
