package io.weightlab.common.vocab;

import io.weightlab.common.linalg.Lapack;

import java.io.Serializable;

/**
 * Mean vector and (optionally) the scatter matrix M₂ = Σ (e − μ)(e − μ)ᵀ of the rows of an embedding, mergeable:
 * each slice of rows is centred on its own mean before its Gram matrix (dsyrk), and partials are merged with
 * Chan et al.'s pairwise update, M₂ = M₂ᴬ + M₂ᴮ + δδᵀ·nᴬnᴮ/n, so no large sums are subtracted.
 * M₂ is stored row-major d x d, upper triangle only until {@link #covariance()}.
 */
public final class RowMoments implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int d;
    private long n;
    private final double[] mean;
    private final double[] m2;

    public RowMoments(int d, boolean scatter) {
        this.d = d;
        this.mean = new double[d];
        this.m2 = scatter ? new double[Math.multiplyExact(d, d)] : null;
    }

    public int dim() { return d; }

    public long count() { return n; }

    public boolean hasScatter() { return m2 != null; }

    /**
     * Adds {@code rows} row-major rows of length d: the block is centred on its own mean, its Gram matrix added to
     * M₂ in place (dsyrk), then the Chan term for the two means.
     */
    public RowMoments add(double[] block, int rows) {
        if (rows == 0) return this;
        double[] bm = new double[d];
        for (int r = 0; r < rows; r++) for (int j = 0; j < d; j++) bm[j] += block[r * d + j];
        for (int j = 0; j < d; j++) bm[j] /= rows;
        if (m2 != null) {
            double[] centred = new double[Math.multiplyExact(rows, d)];
            for (int r = 0; r < rows; r++) for (int j = 0; j < d; j++) centred[r * d + j] = block[r * d + j] - bm[j];
            Lapack.addGram(centred, rows, d, m2);
        }
        combine(rows, bm);
        return this;
    }

    /** Moves the mean to the merged one and adds δδᵀ·nᴬnᴮ/n to M₂ for {@code count} more rows of mean {@code other}. */
    private void combine(long count, double[] other) {
        long total = n + count;
        double[] delta = new double[d];
        for (int j = 0; j < d; j++) delta[j] = other[j] - mean[j];
        if (m2 != null && n > 0) {
            double f = (double) n * count / total;
            for (int i = 0; i < d; i++) {
                double di = delta[i] * f;
                for (int j = i; j < d; j++) m2[i * d + j] += di * delta[j];
            }
        }
        double w = (double) count / total;
        for (int j = 0; j < d; j++) mean[j] += delta[j] * w;
        n = total;
    }

    /** Chan's pairwise merge of another partial into this one. */
    public RowMoments merge(RowMoments o) {
        if (o.d != d || (o.m2 == null) != (m2 == null)) throw new IllegalArgumentException("row moments of different shape");
        if (o.n == 0) return this;
        if (n == 0) {
            n = o.n;
            System.arraycopy(o.mean, 0, mean, 0, d);
            if (m2 != null) System.arraycopy(o.m2, 0, m2, 0, m2.length);
            return this;
        }
        if (m2 != null) for (int i = 0; i < m2.length; i++) m2[i] += o.m2[i];
        combine(o.n, o.mean);
        return this;
    }

    public double[] mean() { return mean.clone(); }

    /** The population covariance M₂/n (Hewitt's Σ = (E−μ)ᵀ(E−μ)/n), full symmetric d x d, row-major. */
    public double[] covariance() {
        if (m2 == null) throw new IllegalStateException("no scatter matrix was accumulated");
        double[] c = new double[m2.length];
        for (int i = 0; i < d; i++) {
            for (int j = i; j < d; j++) {
                double v = m2[i * d + j] / n;
                c[i * d + j] = v;
                c[j * d + i] = v;
            }
        }
        return c;
    }
}
