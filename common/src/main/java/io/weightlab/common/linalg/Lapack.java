package io.weightlab.common.linalg;

import io.weightlab.common.io.WeightLabException;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.openblas.global.openblas;

/**
 * Dense factorizations from OpenBLAS's LAPACK through the JavaCPP presets (never ND4J's own svd/qr ops, which
 * crash or are wrong in M2.1: STACK.md). Matrices arrive row-major as weights are stored; a row-major m x n
 * matrix is the column-major n x m matrix Wᵀ, which has the same singular values, so no transpose is made.
 */
public final class Lapack {
    private Lapack() {}

    /** All singular values of the row-major {@code rows x cols} matrix, descending (LAPACK dgesdd, jobz='N'). */
    public static double[] singularValues(double[] rowMajor, int rows, int cols) {
        if ((long) rows * cols != rowMajor.length) throw new IllegalArgumentException("matrix is " + rows + "x" + cols + " but has " + rowMajor.length + " values");
        int k = Math.min(rows, cols);
        if (k == 0) return new double[0];
        // As column-major: m = cols, n = rows, lda = cols.
        try (DoublePointer a = new DoublePointer(rowMajor); DoublePointer s = new DoublePointer(k);
             DoublePointer u = new DoublePointer(1); DoublePointer vt = new DoublePointer(1)) {
            int info = openblas.LAPACKE_dgesdd(openblas.LAPACK_COL_MAJOR, (byte) 'N', cols, rows, a, cols, s, u, 1, vt, 1);
            if (info != 0) {
                throw new WeightLabException("LAPACK dgesdd failed (info " + info + ") on a " + rows + "x" + cols + " matrix"
                        + (info > 0 ? ": no convergence" : ": bad argument " + (-info)));
            }
            double[] out = new double[k];
            s.get(out);
            return out;
        }
    }
}
