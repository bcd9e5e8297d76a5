package io.weightlab.common.linalg;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;

import java.io.Serializable;
import java.util.List;

/**
 * How the spectrum job fits the ESD tail (docs/algorithms.md §7.6): WeightWatcher's {@code fit} (PL, TPL, E_TPL),
 * {@code fix_fingers} (none, xmin_peak, clip_xmax), x_min search bounds (NaN: unbounded, or xmin_peak's own) and
 * whether to add detX. {@link #DEFAULT} is the plain PL fit, whose output is unchanged by this class.
 */
public record PowerLawOptions(String fit, String fixFingers, double xminMin, double xminMax, boolean detx) implements Serializable {
    public static final List<String> FITS = List.of("PL", "TPL", "E_TPL");
    public static final List<String> FINGER_FIXES = List.of("none", "xmin_peak", "clip_xmax");
    public static final PowerLawOptions DEFAULT = new PowerLawOptions("PL", "none", Double.NaN, Double.NaN, false);

    /** Checks the command-line values; a UsageException (one line) on anything WeightWatcher would not run. */
    public static PowerLawOptions parse(String fit, String fixFingers, Double xminMin, Double xminMax, boolean detx) {
        if (!FITS.contains(fit)) throw new UsageException("--fit takes PL, TPL, E_TPL; not '" + fit + "'" + Suggestions.didYouMean(fit, FITS));
        if (!FINGER_FIXES.contains(fixFingers)) {
            throw new UsageException("--fix-fingers takes none, xmin_peak, clip_xmax; not '" + fixFingers + "'" + Suggestions.didYouMean(fixFingers, FINGER_FIXES));
        }
        if (fixFingers.equals("clip_xmax") && !fit.equals("PL")) {
            throw new UsageException("--fix-fingers clip_xmax refits the plain power law (WeightWatcher's rule); it does not combine with --fit " + fit
                    + (fit.equals("E_TPL") ? ", which is TPL with xmin_peak" : ""));
        }
        double lo = xminMin == null ? Double.NaN : xminMin, hi = xminMax == null ? Double.NaN : xminMax;
        if (!(Double.isNaN(lo) || lo > 0) || !(Double.isNaN(hi) || hi > 0)) throw new UsageException("--xmin-min and --xmin-max are eigenvalues (λ = σ²) and must be positive");
        if (lo > hi) throw new UsageException("--xmin-min " + lo + " is above --xmin-max " + hi);
        return new PowerLawOptions(fit, fixFingers, lo, hi, detx);
    }

    public boolean isDefault() {
        return equals(DEFAULT);
    }

    public boolean truncated() {
        return !fit.equals("PL");
    }

    /** The finger fix in force: E_TPL is TPL with xmin_peak. */
    public String effectiveFingers() {
        return fit.equals("E_TPL") ? "xmin_peak" : fixFingers;
    }
}
