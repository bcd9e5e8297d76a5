package io.weightlab.common.fed;

import java.io.Serializable;

/** One module's adapter in double: A [r, in], B [out, r] row-major, and its scaling s (α/r or α/√r); ΔW = s·B·A. */
public record LoraPair(double[] a, double[] b, int r, int in, int out, double scaling) implements Serializable {
    /** s·B·A, dense [out, in]: for tests and small modules only. */
    public double[] delta() {
        double[] d = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int t = 0; t < r; t++) {
                double bt = scaling * b[i * r + t];
                for (int j = 0; j < in; j++) d[i * in + j] += bt * a[t * in + j];
            }
        }
        return d;
    }
}
