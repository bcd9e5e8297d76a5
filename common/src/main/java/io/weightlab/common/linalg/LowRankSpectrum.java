package io.weightlab.common.linalg;

import io.weightlab.common.error.WeightLabException;

/**
 * Singular values of a LoRA update ΔW = s·B·A (B out x r, A r x in) from the factors, never forming the out x in
 * product (docs/algorithms.md §17.2): B = Q_B R_B and Aᵀ = Q_A R_A (thin Householder QR), so
 * ΔW = s·Q_B (R_B R_Aᵀ) Q_Aᵀ and, Q_B and Q_A having orthonormal columns, σ(ΔW) = |s|·σ(R_B R_Aᵀ), a k_B x k_A
 * matrix (k = min(dim, r)). Cost O((out + in)·r² + r³) instead of O(out·in·min(out, in)).
 */
public final class LowRankSpectrum {
    private LowRankSpectrum() {}

    /**
     * The min(out, in, r) singular values of s·B·A, descending; those beyond the product's true rank come out at
     * rounding level (about ε·σ_max), as dgesdd of the dense product gives them.
     *
     * @param b row-major out x r
     * @param a row-major r x in
     */
    public static double[] singularValues(double[] b, int out, int r, double[] a, int in, double s) {
        if (b.length != (long) out * r || a.length != (long) r * in) {
            throw new WeightLabException("LoRA factors of " + b.length + " and " + a.length + " values do not form B [" + out + ", " + r
                    + "] and A [" + r + ", " + in + "]");
        }
        Lapack.Qr qb = Lapack.qr(b, out, r);
        Lapack.Qr qa = Lapack.qr(transpose(a, r, in), in, r);
        // R_B (kb x r) times R_Aᵀ (r x ka): the core whose singular values are ΔW's, up to |s|
        double[] core = Lapack.multiply(qb.r(), false, qa.r(), true, qb.k(), qa.k(), r);
        double[] sv = Lapack.singularValues(core, qb.k(), qa.k());
        double scale = Math.abs(s);
        for (int i = 0; i < sv.length; i++) sv[i] *= scale;
        return sv;
    }

    /**
     * The thin SVD of B·A with its factors, never forming the product: U = Q_B U_c (out x k), Vᵀ = V_cᵀ Q_Aᵀ (k x in),
     * the singular values those of the core R_B R_Aᵀ, k = min of the core's sides.
     */
    public static Lapack.Factors factors(double[] b, int out, int r, double[] a, int in) {
        Lapack.Qr qb = Lapack.qr(b, out, r);
        Lapack.Qr qa = Lapack.qr(transpose(a, r, in), in, r);
        int kb = qb.k(), ka = qa.k();
        Lapack.Factors core = Lapack.svd(Lapack.multiply(qb.r(), false, qa.r(), true, kb, ka, r), kb, ka);
        int k = core.k();
        double[] u = Lapack.multiply(qb.q(), false, core.u(), false, out, k, kb);                 // [out, k]
        double[] v = Lapack.multiply(qa.q(), false, core.vt(), true, in, k, ka);                  // [in, k]
        return new Lapack.Factors(u, core.s(), transpose(v, in, k), out, in);
    }

    /** W + s·B·A into {@code w} (row-major out x in), in place: the dense merge PEFT's merge_and_unload performs. */
    public static void addProduct(double[] w, double[] b, int out, int r, double[] a, int in, double s) {
        double[] ba = Lapack.multiply(b, false, a, false, out, in, r);
        for (int i = 0; i < w.length; i++) w[i] += s * ba[i];
    }

    /**
     * ε·|s|·‖B‖_F·‖A‖_F / σ_min: the relative error estimate of the smallest value. The QRs and the core's SVD are
     * backward stable, so each value is off by about ε·|s|·‖B‖‖A‖ (≥ ε·σ_max, more when B·A cancels); +∞ when σ_min is 0.
     */
    public static double errorEstimate(double[] sv, double[] b, double[] a, double s) {
        if (sv.length == 0) return 0;
        double sMin = sv[sv.length - 1];
        if (!(sMin > 0)) return Double.POSITIVE_INFINITY;
        return Math.ulp(1.0) * Math.abs(s) * frobenius(b) * frobenius(a) / sMin;
    }

    private static double frobenius(double[] x) {
        double acc = 0;
        for (double v : x) acc += v * v;
        return Math.sqrt(acc);
    }

    /** The transpose of a row-major rows x cols matrix (cols x rows, row-major). */
    public static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        return t;
    }
}
