package io.weightlab.common.fed;

import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorAction;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.RawDoubles;


/**
 * Writes a tensor whose values were computed in parallel, slice by slice, into scratch files of raw float64
 * (file i holds elements [firsts[i], firsts[i] + counts[i])), applying the per-tensor affine map of the variance
 * correction, (y − center)·scale + center, that was only known once every slice had been computed.
 */
public final class StagedSliceAction implements TensorAction {
    private static final long serialVersionUID = 1L;

    private final String[] files;
    private final long[] firsts;
    private final int[] counts;
    private final double center, scale;
    private final String what;
    private transient RangeReader reader;

    public StagedSliceAction(String[] files, long[] firsts, int[] counts, double center, double scale, String what) {
        this.files = files.clone();
        this.firsts = firsts.clone();
        this.counts = counts.clone();
        this.center = center;
        this.scale = scale;
        this.what = what;
    }

    @Override public boolean needsInput() { return false; }

    @Override public void open(RangeReader r) { this.reader = r; }

    @Override public void release() { this.reader = null; }

    @Override
    public void apply(long first, double[] values, int count) {
        long end = first + count;
        for (int i = 0; i < files.length; i++) {
            long lo = Math.max(first, firsts[i]), hi = Math.min(end, firsts[i] + counts[i]);
            if (lo >= hi) continue;
            RawDoubles.read(reader, files[i], lo - firsts[i], (int) (hi - lo), values, (int) (lo - first));
        }
        if (scale != 1.0) for (int i = 0; i < count; i++) values[i] = (values[i] - center) * scale + center;
    }

    @Override
    public String describe() {
        return what + (scale != 1.0 ? Samplers.fmt(", variance-corrected x%s", scale) : "");
    }
}
