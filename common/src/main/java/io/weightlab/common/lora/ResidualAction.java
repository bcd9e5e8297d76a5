package io.weightlab.common.lora;

import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorAction;
import io.weightlab.common.io.RangeReader;


/**
 * The residual base W − s·B·A, computed in double from the stored W and the float32 factors exactly as they went
 * into the adapter, so that W_res + s·B·A reproduces W. The factors are read on the executor from the module's
 * factor file (raw little-endian float32: A [r, in] then B [out, r]) when the tensor's writing starts.
 */
public final class ResidualAction implements TensorAction {
    private static final long serialVersionUID = 1L;

    private final String factorFile;
    private final double scaling;
    private final int r, in, out;
    private final boolean fanInFanOut;
    private transient double[] a, b; // the float32 factors, widened once (exact) so the loop below is pure double and vectorizes

    public ResidualAction(String factorFile, double scaling, int r, int in, int out, boolean fanInFanOut) {
        this.factorFile = factorFile;
        this.scaling = scaling;
        this.r = r;
        this.in = in;
        this.out = out;
        this.fanInFanOut = fanInFanOut;
    }

    @Override public boolean needsInput() { return true; }

    /** The factors are read-only once opened and each call works in its own buffer. */
    @Override public boolean parallelSafe() { return true; }

    @Override
    public void open(RangeReader reader) {
        if (a != null) return;
        float[][] f = FactorFiles.read(reader, factorFile, r, in, out);
        a = widen(f[0]);
        b = widen(f[1]);
    }

    @Override
    public void apply(long first, double[] values, int count) {
        if (a == null) throw new IllegalStateException("factors of " + factorFile + " not loaded");
        if (fanInFanOut) {
            applyTransposed(first, values, count);
            return;
        }
        double[] acc = new double[Math.min(count, in)];
        int k = 0;
        while (k < count) {
            long e = first + k;
            int row = (int) (e / in), col = (int) (e % in);
            int len = Math.min(count - k, in - col);
            java.util.Arrays.fill(acc, 0, len, 0.0);
            int t = 0;
            // four rank terms per pass over acc, added in the same order as one at a time (same bits, 4x fewer acc loads)
            for (; t + 4 <= r; t += 4) {
                double b0 = b[row * r + t], b1 = b[row * r + t + 1], b2 = b[row * r + t + 2], b3 = b[row * r + t + 3];
                int a0 = t * in + col, a1 = a0 + in, a2 = a1 + in, a3 = a2 + in;
                for (int j = 0; j < len; j++) acc[j] = (((acc[j] + b0 * a[a0 + j]) + b1 * a[a1 + j]) + b2 * a[a2 + j]) + b3 * a[a3 + j];
            }
            for (; t < r; t++) {
                double bt = b[row * r + t];
                int base = t * in + col;
                for (int j = 0; j < len; j++) acc[j] += bt * a[base + j];
            }
            for (int j = 0; j < len; j++) values[k + j] -= scaling * acc[j];
            k += len;
        }
    }

    /** Stored [in, out]: element (i, j) is W[j][i], so subtract s·Σ_t B[j,t]·A[t,i] along the stored row i. */
    private void applyTransposed(long first, double[] values, int count) {
        double[] acc = new double[Math.min(count, out)];
        int k = 0;
        while (k < count) {
            long e = first + k;
            int row = (int) (e / out), col = (int) (e % out);
            int len = Math.min(count - k, out - col);
            java.util.Arrays.fill(acc, 0, len, 0.0);
            for (int t = 0; t < r; t++) {
                double at = a[t * in + row];
                for (int j = 0; j < len; j++) acc[j] += b[(col + j) * r + t] * at;
            }
            for (int j = 0; j < len; j++) values[k + j] -= scaling * acc[j];
            k += len;
        }
    }

    private static double[] widen(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    @Override
    public void release() { a = b = null; }

    @Override
    public String describe() { return Samplers.fmt("W - %s * B A (rank %d)", scaling, r); }
}
