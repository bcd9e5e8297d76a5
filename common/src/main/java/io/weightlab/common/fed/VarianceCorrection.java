package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorSelector;

import java.util.Collection;

/**
 * Variance-corrected averaging (docs/algorithms.md §5.2): the average's spread is rescaled about its mean back to the
 * clients' mean variance, w' = (w̄ − mean(w̄))·√((v + ε)/(Var(w̄) + ε)) + mean(w̄), variances with ddof = 1.
 * {@code follow-others}: v = mean_k Var(w_k). {@code conservative} with c: the output first mixes the reference
 * (the server's own model) in, c·w_ref + (1−c)·w̄, and the target is c·Var(w_ref) + (1−c)·v. ε is absolute
 * ({@code eps}, the paper's 1e-4) or relative to v ({@code relative_eps}: ε = relative_eps·v), as LLM weight
 * variances (~4e-4) are the same order as the paper's ε and would barely move.
 */
public record VarianceCorrection(String mode, double selfWeight, double eps, boolean relative) implements java.io.Serializable {
    public static VarianceCorrection parse(String mode, double c, Double eps, Double relativeEps) {
        if (!mode.equals("follow-others") && !mode.equals("conservative")) throw new UsageException("--variance-correction must be follow-others or conservative, got " + mode);
        if (mode.equals("conservative") && !(c >= 0 && c <= 1)) throw new UsageException("conservative: c must be in [0, 1], got " + c);
        if (eps != null && relativeEps != null) throw new UsageException("give eps or relative_eps, not both");
        boolean rel = relativeEps != null;
        double e = rel ? relativeEps : eps != null ? eps : 1e-4;
        if (!(e >= 0)) throw new UsageException("eps must be >= 0");
        return new VarianceCorrection(mode, mode.equals("conservative") ? c : 0, e, rel);
    }

    /** Target variance: the plain mean of the clients' variances (1/K each, as the paper, whatever the aggregation weights), mixed with the reference's (conservative only). */
    public double target(double[] clientVariances, double referenceVariance) {
        double v = 0;
        for (double x : clientVariances) v += x / clientVariances.length;
        return selfWeight > 0 ? selfWeight * referenceVariance + (1 - selfWeight) * v : v;
    }

    /**
     * The factor that maps a variance {@code current} to {@code target}. Within 1e-12 of 1 it is 1: such a factor
     * is the rounding of two equal variances (K identical clients), and applying it would only turn stored zeros
     * into ±1e-20 noise.
     */
    public double scale(double target, double current) {
        double e = relative ? eps * target : eps;
        if (current + e <= 0) return 1.0;
        double s = Math.sqrt((target + e) / (current + e));
        return Math.abs(s - 1) <= 1e-12 ? 1.0 : s;
    }

    /**
     * {@code --correct}: the tensors the correction applies to, null for {@code 2d} (every 2-D weight); a pattern
     * ({@link TensorSelector}) that matches none of {@code names} is refused before any work.
     */
    public static TensorSelector selection(String correct, Collection<String> names) {
        if (correct.equals("2d")) return null;
        TensorSelector s = TensorSelector.parse("--correct '" + correct + "'", correct);
        s.requireMatch("--correct '" + correct + "'", names);
        return s;
    }

    /** Tensors left alone: BatchNorm buffers, as the reference implementation skips them. */
    public static boolean skipped(String name) {
        return name.contains("num_batches_tracked") || name.contains("running_mean") || name.contains("running_var");
    }
}
