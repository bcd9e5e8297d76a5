package io.weightlab.common.linalg;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;

import java.util.SplittableRandom;

/**
 * Top-k singular values by the randomized range finder (Halko, Martinsson & Tropp 2011, Alg. 4.4 with
 * re-orthonormalized power iterations): Y = AΩ, then q times Q = orth(Y), Q' = orth(AᵀQ), Y = AQ'; finally
 * B = QᵀA and the singular values of the small B. The matrix is only touched through {@link Operator}, so the
 * same code runs on an in-memory matrix or as distributed passes over row blocks. Ω is drawn from
 * (seed, name), so results are reproducible.
 */
public final class RandomizedSvd {
    /** A · X and Aᵀ · X for row-major dense X; A is rows x cols. Closing frees what the operator holds off-heap. */
    public interface Operator extends AutoCloseable {
        int rows();

        int cols();

        @Override
        default void close() {}

        /** Y = A X, X is cols x l, Y rows x l (row-major). */
        double[] times(double[] x, int l);

        /** Z = Aᵀ X, X is rows x l, Z cols x l (row-major). */
        double[] transposeTimes(double[] x, int l);

        /**
         * Z = Aᵀ(A X), X is cols x l: one power step on the right. An in-memory operator does it in one pass over A, each
         * row block staying in cache for both products (skinny products are bound by reading A).
         */
        default double[] gramTimes(double[] x, int l) { return transposeTimes(times(x, l), l); }
    }

    /**
     * An in-memory row-major matrix, copied once off-heap: JavaCPP copies a Java array argument in and out of every
     * native call, which for a 46 MB matrix in a skinny product cost 4.6x the product itself (BENCHMARKS.md).
     * Close it (or let the GC) to free the copy.
     */
    public static Operator dense(double[] a, int rows, int cols) {
        return denseOffHeap(new DoublePointer(a), rows, cols);
    }

    /** As {@link #dense}, for a row-major matrix already off-heap; the operator owns {@code p} and frees it on close. */
    public static Operator denseOffHeap(DoublePointer p, int rows, int cols) {
        return new Operator() {
            public int rows() { return rows; }

            public int cols() { return cols; }

            public double[] times(double[] x, int l) { return dgemm(p, false, x, rows, l, cols); }

            public double[] transposeTimes(double[] x, int l) { return dgemm(p, true, x, cols, l, rows); }

            public void close() { p.close(); }
        };
    }

    /**
     * A row-major matrix held in float32 (exact for weights stored as F32/BF16/F16), multiplied with sgemm: the
     * sketch of a randomized SVD carries its own approximation error (percent-level at small niter), far above
     * float32 rounding, so its products need not be in double; orthonormalization and the small SVD stay in double.
     */
    public static Operator denseFloat(float[] a, int rows, int cols) {
        return denseFloatOffHeap(new FloatPointer(a), rows, cols);
    }

    /** As {@link #denseFloat}, for a row-major float32 matrix already off-heap; the operator owns {@code p}. */
    public static Operator denseFloatOffHeap(FloatPointer p, int rows, int cols) {
        return floatOperator(p, rows, cols, true);
    }

    /** As {@link #denseFloatOffHeap}, but {@code p} stays the caller's: closing the operator leaves it alone. */
    public static Operator denseFloatView(FloatPointer p, int rows, int cols) {
        return floatOperator(p, rows, cols, false);
    }

    private static Operator floatOperator(FloatPointer p, int rows, int cols, boolean owns) {
        return new Operator() {
            public int rows() { return rows; }

            public int cols() { return cols; }

            public double[] times(double[] x, int l) { return sgemm(p, false, x, rows, l, cols); }

            public double[] transposeTimes(double[] x, int l) { return sgemm(p, true, x, cols, l, rows); }

            @Override
            public double[] gramTimes(double[] x, int l) { return sgemmGram(p, x, rows, cols, l); }

            public void close() { if (owns) p.close(); }
        };
    }

    /**
     * Row blocks of about this many bytes stay in cache between their two products (medians of five on 2048 x 5632,
     * 8192 x 28672 and its transpose: 2 MiB is best or tied against 0.5, 1 and 4 MiB).
     */
    private static final long GRAM_BLOCK_BYTES = 2 << 20;

    /**
     * Aᵀ(A X) for a row-major float32 A, one pass over A: per row block, T = A_b X and Z += A_bᵀ T (sgemm; across
     * blocks beta = 1, accumulating in float32 as inside one sgemm). Against the two full products: 10–25 % less time
     * on Llama shapes up to 8192 x 28672 (row blocks beat column blocks of A(AᵀX) on wide matrices too).
     */
    private static double[] sgemmGram(FloatPointer a, double[] x, int rows, int cols, int l) {
        int block = (int) Math.min(rows, Math.max(8, GRAM_BLOCK_BYTES / (4L * cols)));
        try (FloatPointer xp = new FloatPointer(toFloat(x)); FloatPointer tp = new FloatPointer((long) block * l);
             FloatPointer zp = new FloatPointer((long) cols * l)) {
            FloatPointer ab = new FloatPointer(a); // a view at a's address (no deallocator): only its position moves
            for (int r0 = 0; r0 < rows; r0 += block) {
                int b = Math.min(block, rows - r0);
                ab.position((long) r0 * cols);
                openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, b, l, cols, 1f, ab, cols, xp, l, 0f, tp, l);
                openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasTrans, openblas.CblasNoTrans, cols, l, b, 1f, ab, cols, tp, l,
                        r0 == 0 ? 0f : 1f, zp, l);
            }
            return toDouble(zp, cols * l);
        }
    }

    private static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        return f;
    }

    /** The first {@code n} floats at {@code p}, widened. */
    private static double[] toDouble(FloatPointer p, int n) {
        float[] f = new float[n];
        p.get(f);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = f[i];
        return out;
    }

    /** C = op(A)·X, A off-heap row-major (rows x cols of the stored matrix), X k x n, C m x n. */
    private static double[] dgemm(DoublePointer a, boolean transA, double[] x, int m, int n, int k) {
        try (DoublePointer xp = new DoublePointer(x); DoublePointer cp = new DoublePointer((long) m * n)) {
            openblas.cblas_dgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans, openblas.CblasNoTrans,
                    m, n, k, 1.0, a, transA ? m : k, xp, n, 0.0, cp, n);
            double[] c = new double[Math.multiplyExact(m, n)];
            cp.get(c);
            return c;
        }
    }

    private static double[] sgemm(FloatPointer a, boolean transA, double[] x, int m, int n, int k) {
        try (FloatPointer xp = new FloatPointer(toFloat(x)); FloatPointer cp = new FloatPointer((long) m * n)) {
            openblas.cblas_sgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans, openblas.CblasNoTrans,
                    m, n, k, 1f, a, transA ? m : k, xp, n, 0f, cp, n);
            return toDouble(cp, Math.multiplyExact(m, n));
        }
    }

    private RandomizedSvd() {}

    /** The top {@code k} singular values, with oversampling {@code p} and {@code q} power iterations. */
    public static double[] topSingularValues(Operator a, int k, int p, int q, long seed) {
        int m = a.rows(), n = a.cols();
        int l = Math.min(Math.min(m, n), k + p);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] omega = new double[n * l];
        for (int i = 0; i < omega.length; i++) omega[i] = gaussian(rng);
        double[] y = a.times(omega, l);
        for (int it = 0; it < q; it++) {
            double[] qy = Lapack.orthonormalize(y, m, l);
            double[] z = Lapack.orthonormalize(a.transposeTimes(qy, l), n, l);
            y = a.times(z, l);
        }
        double[] qm = Lapack.orthonormalize(y, m, l);
        // B = QᵀA is l x n; its transpose AᵀQ is what the operator gives.
        double[] bt = a.transposeTimes(qm, l);
        double[] sv = Lapack.singularValues(bt, n, l);
        return java.util.Arrays.copyOf(sv, Math.min(k, sv.length));
    }

    /**
     * Top-{@code k} factors of the subspace torch.svd_lowrank(A, q=k+p, niter=q) finds, span(A (AᵀA)^q Ω), by power
     * steps on the right, V = orth(Aᵀ(A V)), each one pass over A ({@link Operator#gramTimes}); then Q = orth(A V),
     * and U = Q·U_B, S, Vᵀ from the SVD of the small B = QᵀA. torch re-orthonormalizes after every product (2q + 2
     * passes), we after every pair (q + 2 passes): in float32 products that only loses directions with σ_i/σ_1 below
     * √eps ≈ 2.4e-4 per step, far below any top-k a LoRA keeps.
     */
    public static Lapack.Factors topFactors(Operator a, int k, int p, int q, long seed) {
        int m = a.rows(), n = a.cols();
        int l = Math.min(Math.min(m, n), k + p);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] v = new double[n * l];
        for (int i = 0; i < v.length; i++) v[i] = gaussian(rng);
        for (int it = 0; it < q; it++) v = Lapack.orthonormalize(a.gramTimes(v, l), n, l);
        double[] qm = Lapack.orthonormalize(a.times(v, l), m, l);
        // Bᵀ = AᵀQ (n x l); SVD of Bᵀ = V_B S U_Bᵀ, so B = U_B S V_Bᵀ.
        Lapack.Factors f = Lapack.svd(a.transposeTimes(qm, l), n, l);
        int kk = Math.min(k, f.k());
        double[] ub = new double[l * kk];   // U_B = (U_Bᵀ)ᵀ = f.vt transposed, first kk columns
        for (int i = 0; i < l; i++) for (int j = 0; j < kk; j++) ub[i * kk + j] = f.vt()[j * l + i];
        double[] u = Lapack.multiply(qm, false, ub, false, m, kk, l);
        double[] vt = new double[kk * n];   // V_Bᵀ rows = columns of f.u
        for (int j = 0; j < kk; j++) for (int i = 0; i < n; i++) vt[j * n + i] = f.u()[i * f.k() + j];
        return new Lapack.Factors(u, java.util.Arrays.copyOf(f.s(), kk), vt, m, n);
    }

    /**
     * Block Krylov variant (Musco & Musco 2015): Q = orth([Y_0, Y_1, ..., Y_q]) with Y_0 = orth(AΩ) and
     * Y_{i+1} = orth(A Aᵀ Y_i), then the singular values of QᵀA. Same number of products with A as q
     * power iterations, but the whole Krylov space is kept, which converges far faster on flat spectra.
     * Block size b = k + p.
     */
    public static double[] topSingularValuesKrylov(Operator a, int k, int p, int q, long seed) {
        int m = a.rows(), n = a.cols();
        int b = Math.min(Math.min(m, n), k + p);
        int blocks = q + 1;
        int width = Math.min(Math.min(m, n), b * blocks);
        SplittableRandom rng = new SplittableRandom(seed);
        double[] omega = new double[n * b];
        for (int i = 0; i < omega.length; i++) omega[i] = gaussian(rng);
        double[] krylov = new double[m * b * blocks];
        double[] y = Lapack.orthonormalize(a.times(omega, b), m, b);
        for (int blk = 0; blk < blocks; blk++) {
            if (blk > 0) {
                // y is orthonormal, so AᵀY is well scaled; one QR per block is enough
                y = Lapack.orthonormalize(a.times(a.transposeTimes(y, b), b), m, b);
            }
            for (int i = 0; i < m; i++) System.arraycopy(y, i * b, krylov, i * b * blocks + blk * b, b);
        }
        double[] qm = Lapack.orthonormalize(krylov, m, b * blocks);
        if (width < b * blocks) qm = firstColumns(qm, m, b * blocks, width);
        double[] bt = a.transposeTimes(qm, width);
        double[] sv = Lapack.singularValues(bt, n, width);
        return java.util.Arrays.copyOf(sv, Math.min(k, sv.length));
    }

    /** The first {@code keep} columns of a row-major rows x cols matrix. */
    public static double[] firstColumns(double[] x, int rows, int cols, int keep) {
        double[] out = new double[rows * keep];
        for (int i = 0; i < rows; i++) System.arraycopy(x, i * cols, out, i * keep, keep);
        return out;
    }

    /** A row-major rows x cols matrix of standard Gaussians, the same draws as the sketches here from the same seed. */
    public static double[] gaussianMatrix(int rows, int cols, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] omega = new double[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < omega.length; i++) omega[i] = gaussian(rng);
        return omega;
    }

    private static double gaussian(SplittableRandom r) {
        // Box–Muller; one value per call is enough here
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** A seed derived from the job seed and the tensor's name. */
    public static long seedFor(long seed, String name) {
        return new SplittableRandom(seed ^ name.hashCode() * 0x9E3779B97F4A7C15L).nextLong();
    }
}
