package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.SerializableConfiguration;

import io.weightlab.common.io.Dequantization;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.RandomizedSvd;
import io.weightlab.common.linalg.SpectralMetrics;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Spectra of matrices too large for one task, computed where the data is. Both routes see the matrix A as blocks
 * X_b with Σ X_bᵀX_b = G, the Gram matrix of its short side (n x n): row slices of a tall A, or transposed
 * column blocks of a wide one. Each executor reads its blocks and returns one partial per partition, summed
 * pairwise by treeReduce, so the driver only ever holds n x n (Gram) or n x w (Krylov) numbers. (The order of
 * those sums follows task completion: results agree across runs to rounding, not bit for bit.)
 * <ul>
 * <li>Gram route (the whole spectrum): G itself, then its eigenvalues by dsyevd on the driver. Short side ≤ 16384.</li>
 * <li>Krylov route ({@code --method randomized --top-k K} when G does not fit a task's budget): block Krylov on G. Y_0 = orth(GΩ), Y_i = orth(G·Y_{i−1})
 * for q iterations (one pass each), K = orth([Y_0 … Y_q]), then Rayleigh–Ritz: the eigenvalues of Σ (X_bK)ᵀ(X_bK)
 * = KᵀGK in one more pass. q + 2 passes, partials of n x (K+8) doubles: any short side, any length.</li>
 * </ul>
 * Values near σ_max·sqrt(ε) lose relative precision on both routes (G squares the condition number).
 */
final class DistributedSpectrum {
    /** Largest Gram matrix (n² doubles) the Gram route accumulates: n = 16384. */
    static final long MAX_GRAM_BYTES = 2L << 30;
    /** Bytes of doubles per block a task holds at a time (Hadoop/Spark conf {@value #BLOCK_KEY} overrides it). */
    static final long BLOCK_BYTES = 64L << 20;
    static final String BLOCK_KEY = "weightlab.spectrum.block-bytes";
    static final int OVERSAMPLING = 8;

    private DistributedSpectrum() {}

    /**
     * A block of A as a row-major p x n matrix X with n the short side: rows [from, to) of a tall matrix, or the
     * columns [from, to) of a wide one, transposed (read with one ranged read per row).
     */
    record Block(int from, int to) implements Serializable {
        double[] read(RangeReader r, TensorInfo t, Dequantization dq) {
            int rows = (int) t.dim(0), cols = (int) t.dim(1);
            double[] x;
            if (cols <= rows) {
                x = TensorValues.read(r, t, (long) from * cols, (long) to * cols, dq);
            } else {
                int w = to - from;
                x = new double[w * rows];
                for (int i = 0; i < rows; i++) {
                    double[] seg = TensorValues.read(r, t, (long) i * cols + from, (long) i * cols + to, dq);
                    for (int j = 0; j < w; j++) x[j * rows + i] = seg[j];
                }
            }
            return x; // NaN/Inf propagate into the sums; the routes then list the matrix as not analysed, as a single task does
        }
    }

    static int shortSide(TensorInfo t) {
        return (int) Math.min(t.dim(0), t.dim(1));
    }

    static List<Block> blocks(JavaSparkContext jsc, TensorInfo t) {
        int n = shortSide(t), longSide = (int) Math.max(t.dim(0), t.dim(1));
        long bytes = jsc.hadoopConfiguration().getLong(BLOCK_KEY, BLOCK_BYTES);
        int per = (int) Math.max(1, Math.min(longSide, bytes / (8L * n)));
        List<Block> out = new ArrayList<>();
        for (int i = 0; i < longSide; i += per) out.add(new Block(i, Math.min(longSide, i + per)));
        return out;
    }

    /** Whether G of this matrix fits {@code budget} bytes (the per-task budget): then a top-k request takes the Gram route. */
    static boolean gramWithin(TensorInfo t, long budget) {
        long n = shortSide(t);
        return n * n * 8 <= Math.min(budget, MAX_GRAM_BYTES);
    }

    /** Whether the Gram route can hold G for this matrix. */
    static boolean gramFits(TensorInfo t) {
        long n = shortSide(t);
        return n * n * 8 <= MAX_GRAM_BYTES;
    }

    /** Σ over blocks of a {@link Partial}'s terms: one partial per partition, summed by treeReduce. */
    private static double[] sumOverBlocks(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, TensorInfo t,
                                          Dequantization dq, List<Block> blocks, PartialFactory partials) {
        // one partial per partition, not per block: a few partitions per core, at most 16 blocks each
        int parts = Math.min(blocks.size(), Math.max(2 * jsc.defaultParallelism(), (blocks.size() + 15) / 16));
        FlatMapFunction<Iterator<Block>, double[]> f = it -> {
            try (RangeReader r = new RangeReader(conf.value().get()); Partial acc = partials.create()) {
                while (it.hasNext()) {
                    double[] x = it.next().read(r, t, dq);
                    acc.add(x, x.length / shortSide(t));
                }
                return List.of(acc.result()).iterator();
            }
        };
        return jsc.parallelize(blocks, parts).mapPartitions(f).treeReduce((x, y) -> {
            for (int i = 0; i < y.length; i++) x[i] += y[i];
            return x;
        });
    }

    /** A partition's running sum over its blocks; {@code add} takes the row-major p x n block X. */
    interface Partial extends AutoCloseable {
        void add(double[] x, int p);

        double[] result();

        @Override
        default void close() {}
    }

    interface PartialFactory extends Serializable {
        Partial create();
    }

    /** A partial held in a Java array, {@code term} adding each block's contribution. */
    static PartialFactory onHeap(int size, BlockTerm term) {
        return () -> {
            double[] acc = new double[size];
            return new Partial() {
                public void add(double[] x, int p) { term.add(x, p, acc); }

                public double[] result() { return acc; }
            };
        };
    }

    /** A block's contribution: acc += term(X) for the row-major p x n block X. */
    interface BlockTerm extends Serializable {
        void add(double[] x, int p, double[] acc);
    }

    /** The whole spectrum from G (upper triangle summed over blocks), eigenvalues by dsyevd on the driver. */
    static SpectrumJob.MatrixResult gramRoute(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, TensorInfo t,
                                              Dequantization dq, SpectrumJob.Options o, PrintStream console) {
        int n = shortSide(t);
        List<Block> blocks = blocks(jsc, t);
        long t0 = System.nanoTime();
        // G off-heap for the partition's life: its blocks are copied to native memory, the n x n sum is not
        double[] gram = sumOverBlocks(jsc, conf, t, dq, blocks, () -> new Partial() {
            final Lapack.GramAccumulator g = new Lapack.GramAccumulator(n);

            public void add(double[] x, int p) { g.add(x, p); }

            public double[] result() { return g.toArray(); }

            public void close() { g.close(); }
        });
        if (!allFinite(gram)) return notAnalysed(t, console);
        double[] ev = eigenvalues(t, gram, n);
        int k = o.randomized() && o.topK() > 0 ? Math.min(o.topK(), n) : n;
        double[] sv = new double[k];
        for (int i = 0; i < k; i++) sv[i] = Math.sqrt(Math.max(0, ev[n - 1 - i]));
        boolean wide = t.dim(1) > t.dim(0);
        String method = "gram (distributed " + (wide ? "AAᵀ over " + blocks.size() + " column blocks" : "AᵀA over " + blocks.size() + " row slices")
                + " + dsyevd)";
        console.printf("[spectrum] %s %s through the distributed Gram route%n", t.name(), t.shapeString());
        return result(t, sv, method, "gram_distributed", io.weightlab.common.linalg.GramSpectrum.gramEstimate(sv), o, t0);
    }

    /** The top-k spectrum by block Krylov on G, distributed (see the class comment). */
    static SpectrumJob.MatrixResult krylovRoute(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, TensorInfo t,
                                                Dequantization dq, SpectrumJob.Options o, PrintStream console) {
        int n = shortSide(t);
        int k = Math.min(n, o.topK() > 0 ? o.topK() : 64);
        int b = Math.min(n, k + OVERSAMPLING), q = o.powerIterations();
        List<Block> blocks = blocks(jsc, t);
        long t0 = System.nanoTime();
        double[] omega = RandomizedSvd.gaussianMatrix(n, b, RandomizedSvd.seedFor(o.seed(), t.name()));
        List<double[]> krylov = new ArrayList<>();
        double[] y = omega;
        int plannedPasses = Math.min(q + 1, (n + b - 1) / b) + 1;
        for (int i = 0; i <= q; i++) {
            double[] gy = applyGram(jsc, conf, t, dq, blocks, y, n, b);
            if (i == 0 && !allFinite(gy)) return notAnalysed(t, console); // any NaN/Inf in A reaches GΩ
            y = Lapack.orthonormalize(gy, n, b);
            krylov.add(y);
            console.printf("[spectrum] %s: Krylov pass %d/%d done, %.1f s%n", t.name(), krylov.size(), plannedPasses, (System.nanoTime() - t0) / 1e9);
            if ((long) b * krylov.size() >= n) break; // the space is all of R^n: exact from here
        }
        // [Y_0 … Y_q] cut to at most n columns (Householder QR needs a tall matrix; n columns span R^n: exact)
        int all = b * krylov.size(), width = Math.min(n, all);
        double[] basis = new double[n * width];
        for (int j = 0; j < krylov.size(); j++) {
            double[] yj = krylov.get(j);
            int take = Math.min(b, width - j * b);
            for (int i = 0; i < n && take > 0; i++) System.arraycopy(yj, i * b, basis, i * width + j * b, take);
        }
        final double[] basisK = Lapack.orthonormalize(basis, n, width);
        final int w = width;
        Broadcast<double[]> kbc = jsc.broadcast(basisK);
        double[] h;
        try {
            // KᵀGK = Σ (X K)ᵀ(X K): the Ritz values' squares
            h = sumOverBlocks(jsc, conf, t, dq, blocks, onHeap(w * w, (x, p, acc) ->
                    Lapack.addGram(Lapack.multiply(x, false, kbc.value(), false, p, w, n), p, w, acc)));
        } finally {
            kbc.destroy();
        }
        double[] ev = eigenvalues(t, h, w);
        double[] sv = new double[k];
        for (int i = 0; i < k; i++) sv[i] = Math.sqrt(Math.max(0, ev[w - 1 - i]));
        int passes = krylov.size() + 1;
        String method = "randomized block Krylov top-" + k + " (distributed on " + (t.dim(1) > t.dim(0) ? "AAᵀ" : "AᵀA")
                + ", block " + b + ", " + (krylov.size() - 1) + " iterations, " + passes + " passes over " + blocks.size() + " blocks, float64)";
        console.printf("[spectrum] %s %s: top-%d by distributed block Krylov, %d passes%n", t.name(), t.shapeString(), k, passes);
        return result(t, sv, method, "krylov_distributed", Double.NaN, o, t0);
    }

    /** G·Y for an n x b Y, over all blocks: Σ Xᵀ(X·Y). */
    private static double[] applyGram(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, TensorInfo t,
                                      Dequantization dq, List<Block> blocks, double[] y, int n, int b) {
        Broadcast<double[]> yb = jsc.broadcast(y);
        try {
            return sumOverBlocks(jsc, conf, t, dq, blocks, onHeap(n * b, (x, p, acc) -> {
                double[] xy = Lapack.multiply(x, false, yb.value(), false, p, b, n);
                double[] z = Lapack.multiply(x, true, xy, false, n, b, p);
                for (int i = 0; i < acc.length; i++) acc[i] += z[i];
            }));
        } finally {
            yb.destroy();
        }
    }

    private static double[] eigenvalues(TensorInfo t, double[] upper, int n) {
        try {
            return Lapack.symmetricEigenvalues(upper, n);
        } catch (WeightLabException e) {
            throw new WeightLabException(t.file() + ": tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }

    private static boolean allFinite(double[] x) {
        for (double v : x) if (!Double.isFinite(v)) return false;
        return true;
    }

    /** As the single-task routes report it, and said on the console (this route runs for a while). */
    private static SpectrumJob.MatrixResult notAnalysed(TensorInfo t, PrintStream console) {
        SpectrumJob.MatrixResult r = SpectrumJob.nonFinite(t);
        console.printf("[spectrum] %s %s: %s%n", t.name(), t.shapeString(), r.status());
        return r;
    }

    private static SpectrumJob.MatrixResult result(TensorInfo t, double[] sv, String method, String route, double relErrorEstimate,
                                                   SpectrumJob.Options o, long t0) {
        Map<String, Object> row = SpectrumJob.baseRow(t, TensorName.parse(t.name()), "ok", method);
        row.putAll(SpectralMetrics.of(sv, (int) Math.max(t.dim(0), t.dim(1)), o.powerLawFit()));
        // no dgesdd to fall back to here (no task holds the matrix): the certificate says what the values are worth
        SpectrumJob.putAccuracy(row, route, relErrorEstimate);
        row.put("svd_seconds", (System.nanoTime() - t0) / 1e9);
        return new SpectrumJob.MatrixResult(t.name(), "ok", row, sv);
    }
}
