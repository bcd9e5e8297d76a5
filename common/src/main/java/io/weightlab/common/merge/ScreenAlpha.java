package io.weightlab.common.merge;

import io.weightlab.common.linalg.GramSpectrum;
import io.weightlab.common.linalg.PowerLawOptions;
import io.weightlab.common.linalg.SpectralMetrics;

/**
 * WeightWatcher's power-law α of one candidate's merged matrix in a screen ({@code merge --screen --spectra-alpha},
 * docs/algorithms.md §32.8), by the {@code spectrum} job's own code and defaults: the singular values by
 * {@link GramSpectrum#auto} (spectrum's {@code --method auto}: the Gram route where certified, else dgesdd), then
 * {@link SpectralMetrics#of} with the default fit (PL over λ = σ² > 1e-5, x_min by the smallest KS distance). So the
 * α equals what {@code weightlab spectrum} reports on the candidate written in float64.
 */
public final class ScreenAlpha {
    /** WeightWatcher's "well-trained" range of α: outside it spectrum's alpha_status says over- or under-trained. */
    public static final double LOW = 2, HIGH = 6;

    private ScreenAlpha() {}

    /** α of the row-major {@code rows x cols} matrix {@code m} (not modified); NaN where the fit fails (spectrum's α = -1). */
    public static double of(double[] m, int rows, int cols) {
        double[] sv = GramSpectrum.auto(m, rows, cols).singularValues();
        double a = (Double) SpectralMetrics.of(sv, Math.max(rows, cols), PowerLawOptions.DEFAULT).get("alpha");
        return a < 0 ? Double.NaN : a;
    }

    /** Whether α is outside [{@link #LOW}, {@link #HIGH}]. */
    public static boolean outOfRange(double alpha) {
        return alpha < LOW || alpha > HIGH;
    }
}
