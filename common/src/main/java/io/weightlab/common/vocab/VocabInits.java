package io.weightlab.common.vocab;

import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.transform.TensorRandom;
import org.apache.commons.math3.distribution.GammaDistribution;
import org.apache.commons.math3.random.RandomGenerator;

import java.util.List;

/** The five initialisers of new token rows compared by Mundra et al. (2024); docs/algorithms.md, "Vocabulary expansion". */
public final class VocabInits {
    private VocabInits() {}

    /** The filler of padding rows: the mean of the existing rows, whatever the method (docs/algorithms.md). */
    public static VocabInit.RowFiller meanRows(RowMoments moments) {
        return new ConstantRows(moments.mean(), "mean of the " + moments.count() + " existing rows");
    }

    /** The generator of one token's draws: (seed, role, token) only. */
    static RandomGenerator rng(long seed, String role, String token) {
        return TensorRandom.forBlock(seed, "extend-vocab/" + role + "\u0000" + token, 0);
    }

    /** {@code random}: every element N(0, std²), std the model's initializer_range unless given. */
    public record Random(Double std) implements VocabInit {
        @Override public Needs needs() { return Needs.NOTHING; }

        @Override
        public RowFiller prepare(RowMoments moments, double initStd, long seed, String role, Sharing sharing) {
            return new RandomRows(std != null ? std : initStd, seed, role);
        }
    }

    /** {@code mean}: the mean of the existing rows (Hewitt 2021). */
    public record Mean() implements VocabInit {
        @Override public Needs needs() { return Needs.MEAN; }

        @Override
        public RowFiller prepare(RowMoments moments, double initStd, long seed, String role, Sharing sharing) {
            return new ConstantRows(moments.mean(), "mean of the " + moments.count() + " existing rows");
        }
    }

    /**
     * {@code gaussian}: e ~ N(μ, κΣ) with μ, Σ = (E−μ)ᵀ(E−μ)/n of the existing rows (Hewitt 2021). Sampled as
     * μ + z·F with F = diag(√max(λ,0))·Vᵀ from κΣ's eigen-decomposition, so a singular Σ (fewer rows than
     * dimensions, repeated rows) needs no jitter.
     */
    public record Gaussian(double scale) implements VocabInit {
        @Override public Needs needs() { return Needs.COVARIANCE; }

        @Override
        public RowFiller prepare(RowMoments moments, double initStd, long seed, String role, Sharing sharing) {
            int d = moments.dim();
            double[] cov = moments.covariance();
            for (int i = 0; i < cov.length; i++) cov[i] *= scale;
            Lapack.Eigen e = Lapack.symmetricEigen(cov, d);
            double[] factor = e.vectors();
            int negative = 0;
            for (int t = 0; t < d; t++) {
                double root = Math.sqrt(Math.max(e.values()[t], 0));
                if (e.values()[t] < 0) negative++;
                for (int i = 0; i < d; i++) factor[t * d + i] *= root;
            }
            double[] mu = moments.mean();
            String what = "gaussian: N(mean, " + scale + " x covariance) of the " + moments.count() + " existing rows"
                    + (negative > 0 ? " (" + negative + " tiny negative eigenvalues of the covariance set to 0)" : "");
            return new GaussianRows(sharing.share(factor), mu, seed, role, what);
        }
    }

    /** {@code subword-mean}: the mean of the rows of the token's pieces, repeats counted (FVT, Gee et al. 2022). */
    public record SubwordMean() implements VocabInit {
        @Override public Needs needs() { return Needs.NOTHING; }

        @Override public boolean needsPieces() { return true; }

        @Override
        public RowFiller prepare(RowMoments moments, double initStd, long seed, String role, Sharing sharing) {
            return new PieceCombination(null, seed, role);
        }
    }

    /**
     * {@code convex}: a random point of the convex hull of the pieces' rows, weights w ~ Dirichlet(alpha) drawn from
     * the token's stream. CW2V (Mundra et al.) keeps new rows in the hull by convex weights it then trains on a
     * corpus; this is the untrained starting point restricted to the pieces.
     */
    public record Convex(double alpha) implements VocabInit {
        @Override public Needs needs() { return Needs.NOTHING; }

        @Override public boolean needsPieces() { return true; }

        @Override
        public RowFiller prepare(RowMoments moments, double initStd, long seed, String role, Sharing sharing) {
            return new PieceCombination(alpha, seed, role);
        }
    }

    private record RandomRows(double std, long seed, String role) implements VocabInit.RowFiller {
        @Override
        public void fill(List<VocabInit.NewRow> rows, int d, VocabInit.RowSource source, double[] out) {
            for (int r = 0; r < rows.size(); r++) {
                RandomGenerator g = rng(seed, role, rows.get(r).token());
                for (int j = 0; j < d; j++) out[r * d + j] = std * g.nextGaussian();
            }
        }

        @Override public String describe() { return "random: N(0, " + std + "^2) per element"; }
    }

    private record ConstantRows(double[] row, String what) implements VocabInit.RowFiller {
        @Override
        public void fill(List<VocabInit.NewRow> rows, int d, VocabInit.RowSource source, double[] out) {
            for (int r = 0; r < rows.size(); r++) System.arraycopy(row, 0, out, r * d, d);
        }

        @Override public String describe() { return what; }
    }

    /** μ + z·F for z ~ N(0, I) from each token's stream; one dgemm per batch of rows. */
    private record GaussianRows(VocabInit.Shared<double[]> factor, double[] mu, long seed, String role, String what) implements VocabInit.RowFiller {
        @Override
        public void fill(List<VocabInit.NewRow> rows, int d, VocabInit.RowSource source, double[] out) {
            int m = rows.size();
            double[] z = new double[Math.multiplyExact(m, d)];
            for (int r = 0; r < m; r++) {
                RandomGenerator g = rng(seed, role, rows.get(r).token());
                for (int j = 0; j < d; j++) z[r * d + j] = g.nextGaussian();
            }
            double[] x = Lapack.multiply(z, false, factor.get(), false, m, d, d);
            for (int r = 0; r < m; r++) for (int j = 0; j < d; j++) out[r * d + j] = x[r * d + j] + mu[j];
        }

        @Override public String describe() { return what; }
    }

    /** Σ wᵢ·E[pieceᵢ]: equal weights (alpha null) or Dirichlet(alpha) weights. */
    private record PieceCombination(Double alpha, long seed, String role) implements VocabInit.RowFiller {
        @Override
        public void fill(List<VocabInit.NewRow> rows, int d, VocabInit.RowSource source, double[] out) {
            double[] piece = new double[d];
            for (int r = 0; r < rows.size(); r++) {
                int[] ids = rows.get(r).pieces();
                double[] w = weights(rows.get(r).token(), ids.length);
                java.util.Arrays.fill(out, r * d, (r + 1) * d, 0);
                for (int p = 0; p < ids.length; p++) {
                    source.row(ids[p], piece, 0);
                    for (int j = 0; j < d; j++) out[r * d + j] += w[p] * piece[j];
                }
            }
        }

        double[] weights(String token, int k) {
            double[] w = new double[k];
            if (alpha == null) {
                java.util.Arrays.fill(w, 1.0 / k);
                return w;
            }
            GammaDistribution gamma = new GammaDistribution(rng(seed, role, token), alpha, 1.0);
            double sum = 0;
            for (int i = 0; i < k; i++) sum += w[i] = gamma.sample();
            for (int i = 0; i < k; i++) w[i] /= sum;
            return w;
        }

        @Override
        public String describe() {
            return alpha == null ? "subword-mean: mean of the pieces' rows" : "convex: Dirichlet(" + alpha + ") weights over the pieces' rows";
        }
    }
}
