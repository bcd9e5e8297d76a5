package io.weightlab.common.linalg;

import io.weightlab.common.error.WeightLabException;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.openblas.global.openblas;

/**
 * All singular values of a matrix from the Gram matrix of its short side (dsyrk, then its eigenvalues only by dsyev or,
 * from order {@link #TWO_STAGE_FROM}, the two-stage dsyevd, in double), certified per matrix, else LAPACK dgesdd (docs/algorithms.md, "Full spectra from the
 * Gram matrix"). Squaring costs relative accuracy on small values: a computed eigenvalue λ_i of G = AᵀA is off by
 * about ε·λ₁, so σ_i = √λ_i is off by about ε·σ₁²/σ_i² relative. The route is taken when that estimate, on the
 * smallest reported σ, is at most {@link #TOLERANCE}; its absolute error (ε·λ₁) is then 10⁸ times below the
 * threshold λ_min ≥ ε·λ₁/10⁻⁸, so deciding from the computed values cannot be fooled by their own error.
 */
public final class GramSpectrum {
    /** Largest estimated relative error of any reported σ the Gram route may give (8 digits). */
    public static final double TOLERANCE = 1e-8;
    /** Machine epsilon of double (numpy's finfo(float64).eps). */
    static final double EPS = Math.ulp(1.0);

    /** How the values were computed. */
    public enum Route {
        /** dsyrk on the short side + its eigenvalues ({@link #eigenRoutine}), certificate held. */
        GRAM("gram"),
        /** dgesdd, asked for ({@code --method exact}). */
        GESDD("gesdd"),
        /** dgesdd because the Gram route's certificate failed. */
        GESDD_FALLBACK("gesdd_fallback");

        public final String label;

        Route(String label) {
            this.label = label;
        }
    }

    /**
     * @param singularValues descending
     * @param relErrorEstimate estimated largest relative error of the reported values (on the smallest):
     *                         ε·σ₁²/σ_min² on the Gram route, ε·σ₁/σ_min for dgesdd; +∞ when σ_min is 0
     * @param gramEstimate what the Gram route's estimate was (NaN when it was not tried)
     */
    public record Result(double[] singularValues, Route route, double relErrorEstimate, double gramEstimate) {}

    private GramSpectrum() {}

    /** The Gram route when certified, else dgesdd. */
    public static Result auto(double[] rowMajor, int rows, int cols) {
        double[] sv = fromGram(rowMajor, rows, cols);
        double gramEstimate = gramEstimate(sv);
        if (gramEstimate <= TOLERANCE) return new Result(sv, Route.GRAM, gramEstimate, gramEstimate);
        double[] exact = Lapack.singularValues(rowMajor, rows, cols);
        return new Result(exact, Route.GESDD_FALLBACK, gesddEstimate(exact), gramEstimate);
    }

    /** dgesdd always ({@code --method exact}). */
    public static Result exact(double[] rowMajor, int rows, int cols) {
        double[] sv = Lapack.singularValues(rowMajor, rows, cols);
        return new Result(sv, Route.GESDD, gesddEstimate(sv), Double.NaN);
    }

    /** ε·σ₁²/σ_min²: the Gram route's relative error estimate on the smallest value (+∞ when that is 0). */
    public static double gramEstimate(double[] sv) {
        if (sv.length == 0) return 0;
        double s1 = sv[0], sMin = sv[sv.length - 1];
        if (!(sMin > 0)) return Double.POSITIVE_INFINITY;
        return EPS * (s1 / sMin) * (s1 / sMin);
    }

    /** ε·σ₁/σ_min: a backward-stable SVD's relative error estimate on the smallest value (+∞ when that is 0). */
    public static double gesddEstimate(double[] sv) {
        if (sv.length == 0) return 0;
        double s1 = sv[0], sMin = sv[sv.length - 1];
        if (!(sMin > 0)) return Double.POSITIVE_INFINITY;
        return EPS * s1 / sMin;
    }

    /**
     * From this order on the two-stage tridiagonal reduction (dsyevd_2stage) is faster; below it the one-stage dsyev
     * is (both finish with dsterf on values only). Measured here with one OpenBLAS thread: n = 384 5.0 vs 7.8 ms,
     * 768 31 vs 36 ms, 1024 81 vs 70 ms, 2048 618 vs 420 ms (docs/algorithms.md §17).
     */
    public static final int TWO_STAGE_FROM = 896;

    /** The LAPACK routine that takes the eigenvalues of a k x k Gram matrix. */
    public static String eigenRoutine(int k) {
        return k < TWO_STAGE_FROM ? "dsyev" : "dsyevd_2stage";
    }

    /** √(eigenvalues of the short side's Gram matrix), descending, negative rounding clipped to 0. Uncertified. */
    public static double[] fromGram(double[] rowMajor, int rows, int cols) {
        if ((long) rows * cols != rowMajor.length) throw new IllegalArgumentException("matrix is " + rows + "x" + cols + " but has " + rowMajor.length + " values");
        int k = Math.min(rows, cols);
        if (k == 0) return new double[0];
        boolean wide = rows <= cols; // WWᵀ (rows x rows) when wide, WᵀW (cols x cols) when tall
        double[] w = new double[k];
        try (DoublePointer a = new DoublePointer(rowMajor); DoublePointer g = new DoublePointer((long) k * k); DoublePointer wp = new DoublePointer(k)) {
            openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper, wide ? openblas.CblasNoTrans : openblas.CblasTrans,
                    k, wide ? cols : rows, 1.0, a, cols, 0.0, g, k);
            // row-major upper = column-major lower: column-major avoids LAPACKE's transposing copy
            int info = k < TWO_STAGE_FROM
                    ? openblas.LAPACKE_dsyev(openblas.LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', k, g, k, wp)
                    : openblas.LAPACKE_dsyevd_2stage(openblas.LAPACK_COL_MAJOR, (byte) 'N', (byte) 'L', k, g, k, wp);
            if (info != 0) {
                throw new WeightLabException("LAPACK " + eigenRoutine(k) + " failed (info " + info + ") on the " + k + "x" + k
                        + " Gram matrix of a " + rows + "x" + cols + " matrix");
            }
            wp.get(w);
        }
        double[] sv = new double[k];
        for (int i = 0; i < k; i++) sv[i] = Math.sqrt(Math.max(0, w[k - 1 - i]));
        return sv;
    }
}
