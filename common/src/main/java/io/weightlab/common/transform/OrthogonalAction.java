package io.weightlab.common.transform;

import io.weightlab.common.linalg.Lapack;

/**
 * torch.nn.init.orthogonal_: a Gaussian matrix (drawn as a {@link DrawnAction} would), transposed when wide,
 * Q of its QR with columns signed by diag(R), transposed back, times gain. Rows (or columns, for a tall matrix)
 * are orthonormal. The whole matrix is built once per task on first use; the planner bounds its size.
 */
public final class OrthogonalAction implements TensorAction {
    private static final long serialVersionUID = 1L;

    private final long seed;
    private final String tensor;
    private final double gain;
    private final int rows;
    private final int cols;
    private transient double[] matrix;

    public OrthogonalAction(long seed, String tensor, double gain, int rows, int cols) {
        this.seed = seed;
        this.tensor = tensor;
        this.gain = gain;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public boolean needsInput() { return false; }

    @Override
    public void apply(long first, double[] values, int count) {
        if (matrix == null) matrix = build();
        System.arraycopy(matrix, (int) first, values, 0, count);
    }

    @Override
    public void release() { matrix = null; }

    /** The full row-major [rows, cols] matrix. */
    double[] build() {
        double[] g = new double[Math.multiplyExact(rows, cols)];
        new DrawnAction(seed, tensor, Samplers.normal(1.0)).apply(0, g, g.length);
        boolean wide = rows < cols;
        int m = wide ? cols : rows, l = wide ? rows : cols;
        double[] a = wide ? transpose(g, rows, cols) : g;
        double[] d = new double[l];
        double[] q = Lapack.orthonormalize(a, m, l, d);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < l; j++) q[i * l + j] *= Math.signum(d[j]) * gain;
        }
        return wide ? transpose(q, m, l) : q;
    }

    private static double[] transpose(double[] a, int r, int c) {
        double[] t = new double[a.length];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
        return t;
    }

    @Override
    public String describe() { return Samplers.fmt("orthogonal (QR of a Gaussian) x %s", gain); }
}
