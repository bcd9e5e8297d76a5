package io.weightlab.common.linalg;

import io.weightlab.common.error.WeightLabException;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.openblas.global.openblas;

/**
 * Dense factorizations from OpenBLAS's LAPACK through the JavaCPP presets (never ND4J's own svd/qr ops, which
 * crash or are wrong in M2.1: docs/design.md (Stack)). Matrices arrive row-major as weights are stored; a row-major m x n
 * matrix is the column-major n x m matrix Wᵀ, which has the same singular values.
 */
public final class Lapack {
    private Lapack() {}

    /**
     * Starts loading OpenBLAS on a daemon thread. The first load in a JVM unpacks and links the native libraries
     * (~0.3 s here); started before the SparkSession it overlaps Spark's own start-up instead of delaying the
     * first factorisation of every task thread waiting on JavaCPP's loader lock.
     */
    public static void preloadInBackground() {
        Thread t = new Thread(() -> {
            try {
                org.bytedeco.javacpp.Loader.load(openblas.class);
            } catch (Throwable ignored) {
                // the first real call reports a missing or broken library with its own error
            }
        }, "openblas-preload");
        t.setDaemon(true);
        t.start();
    }

    /** All singular values of the row-major {@code rows x cols} matrix, descending (LAPACK dgesdd, jobz='N'). */
    public static double[] singularValues(double[] rowMajor, int rows, int cols) {
        if ((long) rows * cols != rowMajor.length) throw new IllegalArgumentException("matrix is " + rows + "x" + cols + " but has " + rowMajor.length + " values");
        int k = Math.min(rows, cols);
        if (k == 0) return new double[0];
        // LAPACK is fastest on tall column-major input (QR first; OpenBLAS's LQ path for wide input measured ~3x
        // slower on a 30522 x 384 embedding). A row-major matrix read as column-major is its transpose: use it as
        // is when that is tall (cols >= rows), else copy it transposed.
        double[] data = rowMajor;
        int m = cols, n = rows;
        if (rows > cols) {
            data = new double[rowMajor.length];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) data[j * rows + i] = rowMajor[i * cols + j];
            }
            m = rows;
            n = cols;
        }
        try (DoublePointer a = new DoublePointer(data); DoublePointer s = new DoublePointer(k);
             DoublePointer u = new DoublePointer(1); DoublePointer vt = new DoublePointer(1)) {
            int info = openblas.LAPACKE_dgesdd(openblas.LAPACK_COL_MAJOR, (byte) 'N', m, n, a, m, s, u, 1, vt, 1);
            if (info != 0) {
                throw new WeightLabException("LAPACK dgesdd failed (info " + info + ") on a " + rows + "x" + cols + " matrix"
                        + (info > 0 ? ": no convergence" : ": bad argument " + (-info)));
            }
            double[] out = new double[k];
            s.get(out);
            return out;
        }
    }

    /** C += AᵀA for a row-major {@code rows x cols} block A; C is row-major {@code cols x cols}, upper triangle. */
    public static void addGram(double[] block, int rows, int cols, double[] gram) {
        openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper, openblas.CblasTrans, cols, rows, 1.0,
                block, cols, 1.0, gram, cols);
    }

    /**
     * Σ AᵢᵀAᵢ over row-major blocks Aᵢ (rows x n), upper triangle, kept off-heap: with a Java array JavaCPP would copy
     * the whole n x n matrix in and out of native memory for every block, not just the block.
     */
    public static final class GramAccumulator implements AutoCloseable {
        private final int n;
        private final DoublePointer gram;

        public GramAccumulator(int n) {
            this.n = n;
            this.gram = new DoublePointer((long) n * n);
            gram.zero();
        }

        public void add(double[] block, int rows) {
            try (DoublePointer b = new DoublePointer(block)) {
                openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper, openblas.CblasTrans, n, rows, 1.0, b, n, 1.0, gram, n);
            }
        }

        public double[] toArray() {
            double[] out = new double[Math.multiplyExact(n, n)];
            gram.get(out);
            return out;
        }

        @Override
        public void close() {
            gram.close();
        }
    }

    /** Eigenvalues of a symmetric row-major n x n matrix (upper triangle used), ascending (LAPACK dsyevd). */
    public static double[] symmetricEigenvalues(double[] upper, int n) {
        double[] a = upper.clone();
        double[] w = new double[n];
        int info = openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'U', n, a, n, w);
        if (info != 0) throw new WeightLabException("LAPACK dsyevd failed (info " + info + ") on a " + n + "x" + n + " matrix");
        return w;
    }

    /** Eigen-decomposition of a symmetric matrix: values descending, vectors as the rows of a row-major n x n array. */
    public record Eigen(double[] values, double[] vectors, int n) {}

    /** All eigenpairs of a symmetric row-major n x n matrix (upper triangle used), largest first (LAPACK dsyevd, jobz='V'). */
    public static Eigen symmetricEigen(double[] upper, int n) {
        double[] a = upper.clone();
        double[] w = new double[n];
        int info = openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', n, a, n, w);
        if (info != 0) throw new WeightLabException("LAPACK dsyevd failed (info " + info + ") on a " + n + "x" + n + " matrix");
        // dsyevd returns ascending values and the eigenvectors as columns; reverse both, vectors into rows.
        double[] values = new double[n], vectors = new double[Math.multiplyExact(n, n)];
        for (int t = 0; t < n; t++) {
            int src = n - 1 - t;
            values[t] = w[src];
            for (int i = 0; i < n; i++) vectors[t * n + i] = a[i * n + src];
        }
        return new Eigen(values, vectors, n);
    }

    /**
     * Solves A·X = B for a symmetric positive semi-definite row-major n x n A (Cholesky, dposv) and an n x nrhs B,
     * falling back to LU with pivoting (dgesv) when A is not positive definite; null when A is singular.
     */
    public static double[] solveSymmetric(double[] a, int n, double[] b, int nrhs) {
        double[] x = b.clone();
        if (openblas.LAPACKE_dposv(openblas.LAPACK_ROW_MAJOR, (byte) 'U', n, nrhs, a.clone(), n, x, nrhs) == 0) return x;
        x = b.clone();
        int info = openblas.LAPACKE_dgesv(openblas.LAPACK_ROW_MAJOR, n, nrhs, a.clone(), n, new int[n], x, nrhs);
        return info == 0 ? x : null;
    }

    /** C = op(A) op(B) for row-major matrices: C is m x n, op(A) m x k, op(B) k x n. */
    public static double[] multiply(double[] a, boolean transA, double[] b, boolean transB, int m, int n, int k) {
        double[] c = new double[Math.multiplyExact(m, n)];
        openblas.cblas_dgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0, a, transA ? m : k, b, transB ? k : n, 0.0, c, n);
        return c;
    }

    /** An orthonormal basis of the columns of a row-major m x l matrix (m ≥ l), by Householder QR (dgeqrf + dorgqr). */
    public static double[] orthonormalize(double[] y, int m, int l) {
        return orthonormalize(y, m, l, null);
    }

    /** As {@link #orthonormalize(double[], int, int)}, also returning diag(R) in {@code rDiagonal} when not null. */
    public static double[] orthonormalize(double[] y, int m, int l, double[] rDiagonal) {
        double[] q = y.clone();
        double[] tau = new double[l];
        int info = openblas.LAPACKE_dgeqrf(openblas.LAPACK_ROW_MAJOR, m, l, q, l, tau);
        if (info == 0 && rDiagonal != null) {
            for (int i = 0; i < l; i++) rDiagonal[i] = q[i * l + i];
        }
        if (info == 0) info = openblas.LAPACKE_dorgqr(openblas.LAPACK_ROW_MAJOR, m, l, l, q, l, tau);
        if (info != 0) throw new WeightLabException("LAPACK QR failed (info " + info + ") on a " + m + "x" + l + " matrix");
        return q;
    }

    /** Reduced QR of a row-major m x n matrix: Q (m x k, orthonormal columns) and R (k x n, upper trapezoidal), k = min(m, n). */
    public record Qr(double[] q, double[] r, int k) {}

    /** Householder QR (dgeqrf + dorgqr), as torch.linalg.qr(mode="reduced") computes it. */
    public static Qr qr(double[] rowMajor, int m, int n) {
        int k = Math.min(m, n);
        double[] a = rowMajor.clone();
        double[] tau = new double[k];
        int info = openblas.LAPACKE_dgeqrf(openblas.LAPACK_ROW_MAJOR, m, n, a, n, tau);
        if (info != 0) throw new WeightLabException("LAPACK dgeqrf failed (info " + info + ") on a " + m + "x" + n + " matrix");
        double[] r = new double[k * n];
        for (int i = 0; i < k; i++) for (int j = i; j < n; j++) r[i * n + j] = a[i * n + j];
        info = openblas.LAPACKE_dorgqr(openblas.LAPACK_ROW_MAJOR, m, k, k, a, n, tau);
        if (info != 0) throw new WeightLabException("LAPACK dorgqr failed (info " + info + ") on a " + m + "x" + n + " matrix");
        double[] q = new double[m * k];
        for (int i = 0; i < m; i++) System.arraycopy(a, i * n, q, i * k, k);
        return new Qr(q, r, k);
    }

    /**
     * The top r singular triplets only, in double: the smaller Gram matrix (WWᵀ or WᵀW, dsyrk) and its r largest
     * eigenpairs (dsyevr, range 'I'), the other side's vectors as W·v/σ. About 8x faster than a full dgesdd on a
     * 2048 x 5632 matrix (BENCHMARKS.md); a singular vector's error is about ε·σ₁²/(σ_r² − σ_{r+1}²), which in double
     * stays far below float32's rounding for any gap a weight matrix has. Minor components need {@link #svd} instead.
     */
    public static Factors topSvd(double[] rowMajor, int rows, int cols, int r) {
        int k = Math.min(rows, cols);
        if (r < 1 || r > k) throw new IllegalArgumentException("rank " + r + " outside [1, " + k + "]");
        boolean wide = rows <= cols; // Gram on the short side: WWᵀ (rows x rows) when wide, WᵀW (cols x cols) when tall
        double[] values = new double[k], z = new double[k * r];
        double[] far;
        int len = wide ? cols : rows;
        // Off-heap once: JavaCPP would copy a Java array in and out of each native call.
        try (DoublePointer wp = new DoublePointer(rowMajor); DoublePointer gram = new DoublePointer((long) k * k);
             DoublePointer vp = new DoublePointer(k); DoublePointer zp = new DoublePointer((long) k * r);
             IntPointer found = new IntPointer(1); IntPointer support = new IntPointer(2L * r)) {
            openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper, wide ? openblas.CblasNoTrans : openblas.CblasTrans,
                    k, wide ? cols : rows, 1.0, wp, cols, 0.0, gram, k);
            int info = openblas.LAPACKE_dsyevr(openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'I', (byte) 'U', k, gram, k, 0, 0, k - r + 1, k,
                    0.0, found, vp, zp, r, support);
            if (info != 0 || found.get() != r) {
                throw new WeightLabException("LAPACK dsyevr failed (info " + info + ", " + found.get() + " of " + r + " eigenpairs) on a " + k + "x" + k + " Gram matrix");
            }
            vp.get(values);
            zp.get(z);
            // far side, unnormalised: W·v (tall) or Wᵀ·u (wide), len x r
            try (DoublePointer fp = new DoublePointer((long) len * r)) {
                openblas.cblas_dgemm(openblas.CblasRowMajor, wide ? openblas.CblasTrans : openblas.CblasNoTrans, openblas.CblasNoTrans,
                        len, r, k, 1.0, wp, cols, zp, r, 0.0, fp, r);
                far = new double[len * r];
                fp.get(far);
            }
        }
        // ascending -> descending; z holds the eigenvectors as columns (k x r)
        double[] s = new double[r], near = new double[k * r];
        for (int t = 0; t < r; t++) {
            int src = r - 1 - t;
            s[t] = Math.sqrt(Math.max(values[src], 0));
            for (int i = 0; i < k; i++) near[i * r + t] = z[i * r + src];
        }
        // far side: W·v/σ (wide: Wᵀ·u/σ), columns reordered like the near side
        double[] farSorted = new double[len * r];
        for (int i = 0; i < len; i++) for (int t = 0; t < r; t++) farSorted[i * r + t] = s[t] > 0 ? far[i * r + r - 1 - t] / s[t] : 0;
        far = farSorted;
        double[] u = wide ? near : far, vCols = wide ? far : near;
        double[] vt = new double[r * cols];
        for (int j = 0; j < cols; j++) for (int t = 0; t < r; t++) vt[t * cols + j] = vCols[j * r + t];
        return new Factors(u, s, vt, rows, cols);
    }

    /** Thin SVD factors of a row-major matrix: U (rows x k), S (k), Vᵀ (k x cols), all row-major, k = min dim. */
    public record Factors(double[] u, double[] s, double[] vt, int rows, int cols) {
        public int k() { return s.length; }
    }

    /** Thin SVD with factors (LAPACK dgesdd, jobz='S'). */
    public static Factors svd(double[] rowMajor, int rows, int cols) {
        int k = Math.min(rows, cols);
        double[] a = rowMajor.clone();
        double[] s = new double[k], u = new double[rows * k], vt = new double[k * cols];
        int info = openblas.LAPACKE_dgesdd(openblas.LAPACK_ROW_MAJOR, (byte) 'S', rows, cols, a, cols, s, u, k, vt, cols);
        if (info != 0) throw new WeightLabException("LAPACK dgesdd failed (info " + info + ") on a " + rows + "x" + cols + " matrix");
        return new Factors(u, s, vt, rows, cols);
    }
}
