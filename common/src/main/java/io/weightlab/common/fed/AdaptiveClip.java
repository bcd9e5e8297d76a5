package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.method.MethodCatalog;

import java.util.Map;
import java.util.Set;

/**
 * Quantile-based adaptive clipping of Andrew et al., "Differentially Private Learning with Adaptive Clipping" (arXiv
 * 1905.03871), as the paper and TF Privacy's QuantileEstimatorQuery define it (not Flower's variant, which counts the
 * clipped updates and so moves C the other way): with b_i = 1 when ‖Δ_i‖ ≤ C, the noised fraction
 * b̃ = clamp((Σ(b_i − ½) + N(0, σ_b²))/K + ½, 0, 1) (the −½ halves the count's sensitivity) and the geometric update
 * C ← C·exp(−η(b̃ − γ)). The mean is noised with z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2), so that both releases together are
 * one Gaussian mechanism of multiplier z for the accountant. {@code --clip adaptive[:initial=0.1,quantile=0.5,lr=0.2,
 * count_stddev=K/20]}: Flower's defaults and names (initial_clipping_norm, target_clipped_quantile, clip_norm_lr,
 * clipped_count_stddev).
 */
public record AdaptiveClip(double initial, double quantile, double lr, Double countStddev) implements java.io.Serializable {
    private static final Set<String> KEYS = Set.of("initial", "quantile", "lr", "count_stddev");

    public static boolean is(String clip) {
        return clip != null && (clip.equals("adaptive") || clip.startsWith("adaptive:"));
    }

    public static AdaptiveClip parse(String clip) {
        Map<String, String> p = MethodCatalog.parseSpec(clip).getValue();
        for (String k : p.keySet()) if (!KEYS.contains(k)) throw new UsageException("--clip adaptive: unknown parameter '" + k + "' (known: initial, quantile, lr, count_stddev)");
        AdaptiveClip a = new AdaptiveClip(num(p, "initial", 0.1), num(p, "quantile", 0.5), num(p, "lr", 0.2),
                p.containsKey("count_stddev") ? num(p, "count_stddev", 0) : null);
        if (!(a.initial > 0) || !(a.quantile >= 0 && a.quantile <= 1) || !(a.lr >= 0) || (a.countStddev != null && !(a.countStddev >= 0))) {
            throw new UsageException("--clip adaptive: needs initial > 0, quantile in [0, 1], lr >= 0, count_stddev >= 0; got " + clip);
        }
        return a;
    }

    private static double num(Map<String, String> p, String k, double dflt) {
        if (!p.containsKey(k)) return dflt;
        try {
            return Double.parseDouble(p.get(k));
        } catch (NumberFormatException e) {
            throw new UsageException("--clip adaptive: " + k + "=" + p.get(k) + " is not a number");
        }
    }

    /** σ_b: the given one, or K/20 (Flower's default) when z > 0, or 0 when z = 0. */
    public double countStddev(int k, double z) {
        if (countStddev != null) return countStddev;
        return z > 0 ? k / 20.0 : 0;
    }

    /** z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2); 0 when z = 0; z < 2σ_b is required (else the count alone would spend the budget). */
    public static double effectiveMultiplier(double z, double sigmaB) {
        if (z == 0) return 0;
        if (!(z < 2 * sigmaB)) {
            throw new UsageException("--clip adaptive: the noise multiplier " + z + " must be below 2 x count_stddev = " + 2 * sigmaB + " (rule: AdaptiveClipNoise)");
        }
        return Math.pow(Math.pow(z, -2) - Math.pow(2 * sigmaB, -2), -0.5);
    }

    /** The noised unclipped fraction b̃ for the norms, given the count noise draw g ~ N(0, 1). */
    public static double noisedFraction(double c, double[] norms, double sigmaB, double g) {
        double s = 0;
        for (double n : norms) s += (n <= c ? 1 : 0) - 0.5;
        return Math.max(0, Math.min(1, (s + sigmaB * g) / norms.length + 0.5));
    }

    /** C_{t+1} = C_t·exp(−η(b̃ − γ)). */
    public double next(double c, double noisedFraction) {
        return c * Math.exp(-lr * (noisedFraction - quantile));
    }
}
