package io.weightlab.common.linalg;

/**
 * The operator of W + s·B·A for the randomized routes, never forming the sum: W is any operator (in memory, or
 * transposed for a base stored [in, out] as GPT-2's Conv1D), B is out x r and A is r x in (row-major, float64), so
 * (W + sBA)X = WX + s·B(AX) and (W + sBA)ᵀX = WᵀX + s·Aᵀ(BᵀX). The correction costs (out + in)·r·l per product
 * against W's out·in·l. This is WeightWatcher's with-base ESD of a LoRA module at the cost of the base's sketch.
 */
public final class LowRankCorrected implements RandomizedSvd.Operator {
    private final RandomizedSvd.Operator w;
    private final boolean transposed;
    private final double[] b, a;
    private final int out, r, in;
    private final double s;

    /**
     * @param w          the base weight's operator: out x in, or in x out when {@code transposed}
     * @param transposed W is stored [in, out] and the sum is Wᵀ + s·B·A
     */
    public LowRankCorrected(RandomizedSvd.Operator w, boolean transposed, double[] b, int out, int r, double[] a, int in, double s) {
        int wr = transposed ? w.cols() : w.rows(), wc = transposed ? w.rows() : w.cols();
        if (wr != out || wc != in || b.length != (long) out * r || a.length != (long) r * in) {
            throw new IllegalArgumentException("W is " + w.rows() + " x " + w.cols() + (transposed ? " (transposed)" : "") + ", B " + out + " x " + r
                    + ", A " + r + " x " + in + ": W + s·B·A is not defined");
        }
        this.w = w;
        this.transposed = transposed;
        this.b = b;
        this.a = a;
        this.out = out;
        this.r = r;
        this.in = in;
        this.s = s;
    }

    @Override public int rows() { return out; }

    @Override public int cols() { return in; }

    @Override
    public double[] times(double[] x, int l) {
        double[] y = transposed ? w.transposeTimes(x, l) : w.times(x, l);
        double[] ax = multiply(a, r, in, x, l);          // r x l
        addProduct(y, b, out, r, ax, l, s);             // + s·B(AX)
        return y;
    }

    @Override
    public double[] transposeTimes(double[] x, int l) {
        double[] z = transposed ? w.times(x, l) : w.transposeTimes(x, l);
        double[] btx = new double[r * l];                // Bᵀ X: r x l
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < r; j++) {
                double bij = b[i * r + j];
                if (bij == 0) continue;
                int xo = i * l, to = j * l;
                for (int c = 0; c < l; c++) btx[to + c] += bij * x[xo + c];
            }
        }
        for (int i = 0; i < r; i++) {                    // + s·Aᵀ(BᵀX): row k of the result gets Σ_i A[i,k]·(BᵀX)[i,:]
            for (int k = 0; k < in; k++) {
                double aik = s * a[i * in + k];
                if (aik == 0) continue;
                int zo = k * l, to = i * l;
                for (int c = 0; c < l; c++) z[zo + c] += aik * btx[to + c];
            }
        }
        return z;
    }

    @Override
    public void close() { w.close(); }

    /** M (m x n, row-major) times X (n x l). */
    private static double[] multiply(double[] m, int rows, int n, double[] x, int l) {
        double[] y = new double[rows * l];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < n; k++) {
                double mik = m[i * n + k];
                if (mik == 0) continue;
                int yo = i * l, xo = k * l;
                for (int c = 0; c < l; c++) y[yo + c] += mik * x[xo + c];
            }
        }
        return y;
    }

    /** y += s · M (rows x n) · T (n x l). */
    private static void addProduct(double[] y, double[] m, int rows, int n, double[] t, int l, double s) {
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < n; k++) {
                double mik = s * m[i * n + k];
                if (mik == 0) continue;
                int yo = i * l, to = k * l;
                for (int c = 0; c < l; c++) y[yo + c] += mik * t[to + c];
            }
        }
    }
}
