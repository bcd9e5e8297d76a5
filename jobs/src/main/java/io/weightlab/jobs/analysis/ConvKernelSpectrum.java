package io.weightlab.jobs.analysis;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.linalg.Conv2dSpectrum;
import io.weightlab.common.linalg.GramSpectrum;
import io.weightlab.common.linalg.SpectralMetrics;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import org.apache.hadoop.conf.Configuration;

import java.util.Map;

/**
 * Conv2D kernels in {@code spectrum} (docs/algorithms.md §7.8): WeightWatcher's pooled per-slice ESD, computed whole
 * on one executor whatever {@code --method} says (a slice is at most max_N x M, small next to a transformer matrix).
 */
final class ConvKernelSpectrum {
    /** WeightWatcher's defaults (constants.py): a layer is analysed iff MIN_EVALS ≤ M·rf ≤ MAX_EVALS and N ≤ MAX_N. */
    static final int MIN_EVALS = 10, MAX_EVALS = 15000, MAX_N = 50000;

    private ConvKernelSpectrum() {}

    /** Why a 4-D kernel is not analysed by WeightWatcher's size rule, or null when it is. */
    static String sizeExclusion(TensorInfo t) {
        Conv2dSpectrum.Layout l = Conv2dSpectrum.layout(t.shape());
        String what = "Conv2D kernel " + t.shapeString() + " (M = " + l.m() + ", rf = " + l.rf() + ", N = " + l.n() + ")";
        if (l.evals() < MIN_EVALS) return what + ": M·rf under WeightWatcher's min_evals " + MIN_EVALS;
        if (l.evals() > MAX_EVALS) return what + ": M·rf over WeightWatcher's max_evals " + MAX_EVALS;
        if (l.n() > MAX_N) return what + ": N over WeightWatcher's max_N " + MAX_N;
        return null;
    }

    /** A kernel over --max-exact-mb: listed with the reason (there is no distributed route for kernels). */
    static SpectrumJob.MatrixResult oversized(TensorInfo t) {
        String s = "not analysed: Conv2D kernel " + t.shapeString() + " over --max-exact-mb as float64 (kernels are sliced on one executor)";
        return new SpectrumJob.MatrixResult(t.name(), s, SpectrumJob.baseRow(t, TensorName.parse(t.name()), s, "none"), new double[0]);
    }

    static SpectrumJob.MatrixResult factorize(Configuration conf, TensorInfo t, Dequantization dq, SpectrumJob.Options o) {
        double[] a;
        try (RangeReader r = new RangeReader(conf)) {
            a = io.weightlab.common.io.TensorValues.read(r, t, 0, t.elementCount(), dq);
        }
        for (double v : a) {
            if (!Double.isFinite(v)) return SpectrumJob.nonFinite(t);
        }
        long t0 = System.nanoTime();
        Conv2dSpectrum.Pooled p;
        try {
            p = Conv2dSpectrum.pooled(a, t.shape(), o.vectors());
        } catch (WeightLabException e) {
            throw new WeightLabException(t.file() + ": tensor '" + t.name() + "': " + e.getMessage(), e);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        Conv2dSpectrum.Layout l = p.layout();
        String method = "conv2d (" + l.rf() + " slices " + (l.channelsLast() ? "W[:,:,i,j]" : "W[i,j,:,:]")
                + " by LAPACK dgesdd, each scaled by sqrt(1/2), one pooled ESD; float64)";
        Map<String, Object> row = SpectrumJob.baseRow(t, TensorName.parse(t.name()), "ok", method);
        row.put("N", (long) l.n());
        row.put("M", (long) l.m());
        row.put("rows", (long) l.n());
        row.put("cols", (long) l.m());
        row.put("conv2d_slices", l.rf());
        row.putAll(SpectralMetrics.of(p.singularValues(), l.n(), o.powerLawFit()));
        SpectrumJob.putAccuracy(row, "conv2d_gesdd", GramSpectrum.gesddEstimate(p.singularValues()));
        row.put("svd_seconds", secs);
        if (o.randomize()) row.put("traps_status", "not computed: Conv2D kernels (a pooled ESD of slices) have no permutation test");
        if (o.vectors()) VectorColumns.put(row, p.vectors());
        return new SpectrumJob.MatrixResult(t.name(), "ok", row, p.singularValues());
    }
}
