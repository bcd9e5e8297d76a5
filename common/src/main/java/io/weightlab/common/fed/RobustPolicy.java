package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.Arrays;

/**
 * What happens to clients whose whole-model update ‖x_k − reference‖ stands out, decided on the driver from the norms
 * of the validation pass: {@code rejectAbove} z (reject when the norm exceeds median + z·1.4826·MAD, a robust
 * three-sigma rule) and {@code clip} (scale an update down to norm τ: τ = the median norm, or a number). Both need
 * the reference (previous global) model.
 */
public record RobustPolicy(Double rejectAbove, String clip) implements java.io.Serializable {
    public boolean needsNorms() { return rejectAbove != null || clip != null; }

    /** Which clients to reject (true) given their update norms. */
    public boolean[] reject(double[] norms) {
        boolean[] out = new boolean[norms.length];
        if (rejectAbove == null || norms.length < 3) return out;
        double med = median(norms);
        double[] dev = new double[norms.length];
        for (int i = 0; i < norms.length; i++) dev[i] = Math.abs(norms[i] - med);
        double mad = 1.4826 * median(dev);
        for (int i = 0; i < norms.length; i++) out[i] = norms[i] > med + rejectAbove * Math.max(mad, 1e-12 * med);
        return out;
    }

    /** Per-client factors min(1, τ/‖Δ_k‖), or null when not clipping. */
    public double[] clipFactors(double[] norms) {
        if (clip == null) return null;
        double tau;
        if (clip.equals("median")) {
            tau = median(norms);
        } else {
            try {
                tau = Double.parseDouble(clip);
            } catch (NumberFormatException e) {
                throw new UsageException("--clip must be 'median' or a positive number, got " + clip);
            }
            if (!(tau > 0)) throw new UsageException("--clip must be positive, got " + clip);
        }
        double[] f = new double[norms.length];
        for (int i = 0; i < norms.length; i++) f[i] = norms[i] > tau ? tau / norms[i] : 1.0;
        return f;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
