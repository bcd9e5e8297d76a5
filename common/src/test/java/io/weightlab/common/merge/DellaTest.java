package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.io.RangeReader;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DELLA's magnitude-ranked mask (mergekit's della_magprune): keep rate per rank within a row, ranks along mergekit's
 * dim 1, ties, the density ± epsilon check, and independence from the slicing. Ranks here are computed independently
 * of {@link DellaMask} (a stable sort of boxed indices).
 */
class DellaTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** 1-based ranks of |v| ascending, ties by index (a stable sort), written here independently. */
    static int[] ranks(double[] v) {
        Integer[] idx = IntStream.range(0, v.length).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.comparingDouble(i -> Math.abs(v[i])));
        int[] r = new int[v.length];
        for (int k = 0; k < idx.length; k++) r[idx[k]] = k + 1;
        return r;
    }

    @Test
    void keepRateAtEachRankIsItsProbabilityAndARowKeepsDensity() {
        int rows = 500, len = 16, seeds = 8;
        double d = 0.4, e = 0.25;
        long[] shape = {rows, len};
        long[] kept = new long[len + 1], seen = new long[len + 1];
        long keptAll = 0;
        Random g = new Random(5);
        for (int s = 0; s < seeds; s++) {
            double[] tau = new double[rows * len];
            for (int j = 0; j < tau.length; j++) tau[j] = g.nextGaussian();
            boolean[] m = DellaMask.draw(s, "t", 0, d, e, shape, 0, tau.length, tau);
            for (int row = 0; row < rows; row++) {
                int[] r = ranks(Arrays.copyOfRange(tau, row * len, (row + 1) * len));
                for (int c = 0; c < len; c++) {
                    seen[r[c]]++;
                    if (m[row * len + c]) {
                        kept[r[c]]++;
                        keptAll++;
                    }
                }
            }
        }
        for (int r = 1; r <= len; r++) {
            double p = d - e + 2 * e * (r - 1) / (len - 1.0); // the paper's linear ramp from d − ε to d + ε
            double n = seen[r], sigma = Math.sqrt(p * (1 - p) / n);
            assertEquals(p, kept[r] / n, 5 * sigma, "rank " + r);
        }
        double n = (double) rows * len * seeds;
        assertEquals(d, keptAll / n, 5 * Math.sqrt(d * (1 - d) / n), "mean keep rate");
        // the smallest and largest ranks differ by 2ε: far more than 5 sigma here, so a reversed ramp would fail above
        assertTrue(2 * e > 10 * Math.sqrt(0.25 / (rows * seeds)));
    }

    @Test
    void ranksRunAlongDimOneTiesByIndexAndOneElementRowsKeepDensity() {
        double d = 0.5, e = 0.2;
        // 1-D: one row of 4; equal |τ| (0.3, −0.3) ranked by index
        double[] p = DellaMask.probabilities(d, e, new long[] {4}, 0, 4, new double[] {0.3, -0.1, -0.3, 2});
        assertArrayEquals(new double[] {d - e + 2 * e / 3, d - e, d - e + 4 * e / 3, d + e}, p, 1e-15);
        // [2, 3, 2]: ranked along the 3 of axis 1 for each (i, k), like torch.argsort(dim=1)
        double[] tau = new double[12];
        Random g = new Random(1);
        for (int j = 0; j < 12; j++) tau[j] = g.nextGaussian();
        p = DellaMask.probabilities(d, e, new long[] {2, 3, 2}, 0, 12, tau);
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < 2; k++) {
                double[] col = new double[3];
                for (int b = 0; b < 3; b++) col[b] = tau[i * 6 + b * 2 + k];
                int[] r = ranks(col);
                for (int b = 0; b < 3; b++) assertEquals(d - e + 2 * e * (r[b] - 1) / 2.0, p[i * 6 + b * 2 + k], 1e-15);
            }
        }
        assertEquals(6, DellaMask.rowBlock(new long[] {2, 3, 2}));
        // R = 1 (mergekit: 0/0): density
        assertArrayEquals(new double[] {d, d}, DellaMask.probabilities(d, e, new long[] {2, 1}, 0, 2, new double[] {1, -4}), 0);
        assertThrows(IllegalStateException.class, () -> DellaMask.probabilities(d, e, new long[] {2, 4}, 2, 4, new double[4]));
    }

    @Test
    void theMaskAndTheMergeDoNotDependOnTheChunks() {
        long[] shape = {6, 10};
        TensorMerge m = plan("della", "{'weight': 0.7, 'density': 0.5}", "{'weight': 1.3, 'density': 0.6, 'epsilon': 0.3}", shape);
        Random g = new Random(3);
        double[] b = new double[60];
        double[][] x = new double[2][60];
        for (int j = 0; j < 60; j++) {
            b[j] = g.nextGaussian();
            x[0][j] = b[j] + 0.01 * g.nextGaussian();
            x[1][j] = b[j] + 0.01 * g.nextGaussian();
        }
        m.l1 = new double[] {0.4, 0.5};
        m.l1Kept = new double[] {0.25, 0.3};
        double[] whole = new double[60];
        m.method.merge(m, 0, 60, b.clone(), new double[][] {x[0].clone(), x[1].clone()}, null, whole);
        for (int rows : new int[] {1, 2, 4}) {
            double[] parts = new double[60];
            for (int f = 0; f < 60; f += 10 * rows) {
                int n = Math.min(10 * rows, 60 - f);
                double[] out = new double[n];
                m.method.merge(m, f, n, Arrays.copyOfRange(b, f, f + n),
                        new double[][] {Arrays.copyOfRange(x[0], f, f + n), Arrays.copyOfRange(x[1], f, f + n)}, null, out);
                System.arraycopy(out, 0, parts, f, n);
            }
            assertArrayEquals(whole, parts, 0.0, rows + " row(s) per chunk");
        }
        assertEquals(10, m.method.rowAlignment(m));
        assertEquals(30, MergeMethod.alignedStep(35, 10));
        assertEquals(10, MergeMethod.alignedStep(4, 10));
        // DARE keeps any split
        assertEquals(1, plan("dare_ties", "{'weight': 1, 'density': 0.5}", "{'weight': 1, 'density': 0.5}", shape).method.rowAlignment(null));
    }

    /** Raw little-endian float32 values as a file a TensorInfo can point at (data from byte 0). */
    static TensorInfo f32(Path dir, String name, long[] shape, float[] v) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) bb.putFloat(f);
        Path f = dir.resolve(name);
        Files.write(f, bb.array());
        return new TensorInfo("w", DType.F32, shape, f.toUri().toString(), 0, 4L * v.length);
    }

    @Test
    void measureAndWriteGiveTheSameBitsForAnyStepAndAnyPieceBoundary(@TempDir Path dir) throws IOException {
        long[] shape = {7, 96};
        int n = 7 * 96;
        Random g = new Random(11);
        float[] b = new float[n], x0 = new float[n], x1 = new float[n];
        for (int j = 0; j < n; j++) {
            b[j] = (float) g.nextGaussian();
            x0[j] = b[j] + (float) (0.01 * g.nextGaussian());
            x1[j] = b[j] + (float) (0.01 * g.nextGaussian());
        }
        TensorInfo tb = f32(dir, "b", shape, b);
        TensorInfo[] ts = {f32(dir, "x0", shape, x0), f32(dir, "x1", shape, x1)};
        TensorMerge m = plan("della", "{'weight': 0.7, 'density': 0.5}", "{'weight': 1.3, 'density': 0.6, 'epsilon': 0.3}", shape);
        try (RangeReader r = new RangeReader(new Configuration())) {
            MergeStats ref = MergeStats.measure(r, m, tb, ts, null, 0, n, n, true).finish();
            for (int step : new int[] {96, 100, 200, 4096}) { // 100 and 200 are rounded down to whole rows
                MergeStats s = MergeStats.measure(r, m, tb, ts, null, 0, n, step, true).finish();
                assertArrayEquals(ref.l1, s.l1, 0.0);
                assertArrayEquals(ref.l1Kept, s.l1Kept, 0.0, "step " + step);
            }
            assertThrows(IllegalStateException.class, () -> MergeStats.measure(r, m, tb, ts, null, 50, 96, 96, true));
            m.l1 = ref.l1;
            m.l1Kept = ref.l1Kept;
            assertTrue(ref.kept[0] > 0.3 * n && ref.kept[0] < 0.7 * n, "kept " + ref.kept[0]);
            double[] whole = write(r, m, tb, ts, n, n);
            for (int[] c : new int[][] {{96, 100}, {150, 100}, {4096, 37}, {96, 96}, {300, 500}}) {
                assertArrayEquals(whole, write(r, m, tb, ts, c[0], c[1]), 0.0, "step " + c[0] + ", piece " + c[1]);
            }
        }
    }

    /** The shard writer's side: MergeAction over pieces of {@code piece} elements (cut anywhere), steps of {@code step}. */
    static double[] write(RangeReader r, TensorMerge m, TensorInfo b, TensorInfo[] xs, int step, int piece) {
        MergeAction a = new MergeAction(m, b, xs, step);
        a.open(r);
        double[] out = new double[(int) m.elements];
        for (int f = 0; f < out.length; f += piece) {
            int c = Math.min(piece, out.length - f);
            double[] v = new double[c];
            a.apply(f, v, c);
            System.arraycopy(v, 0, out, f, c);
        }
        return out;
    }

    @Test
    void densityPlusOrMinusEpsilonOutsideZeroOneIsRefusedByModelAndTensor() {
        String msg = assertThrows(UsageException.class,
                () -> plan("della_linear", "{'weight': 1, 'density': 0.5}", "{'weight': 1, 'density': 0.9}", new long[] {4, 4})).getMessage();
        assertTrue(msg.startsWith("r.yaml: della_linear: density 0.9 ± epsilon 0.15 of ft1 for tensor 'w'"), msg);
        assertEquals(1, msg.lines().count());
        msg = assertThrows(UsageException.class,
                () -> plan("della", "{'weight': 1, 'density': 0.1}", "{'weight': 1, 'density': 0.5}", new long[] {4, 4})).getMessage();
        assertTrue(msg.contains("density 0.1 ± epsilon 0.15 of ft0"), msg);
        // density 1 (the default) prunes nothing, whatever epsilon (mergekit returns the tensor before its check)
        TensorMerge all = plan("della", "{'weight': 1}", "{'weight': 1, 'epsilon': 0.9}", new long[] {4, 4});
        boolean[] keep = all.method.mask(all, 1, 0, 16, new double[16]);
        for (boolean k : keep) assertTrue(k);
        assertTrue(assertThrows(UsageException.class, () -> plan("della", "{'weight': 1, 'density': 0.5, 'epsilon': -0.1}", "{'weight': 1}",
                new long[] {4, 4})).getMessage().contains("epsilon"));
    }

    static TensorMerge plan(String method, String p0, String p1, long[] shape) {
        try {
            String json = "{'merge_method': '" + method + "', 'base_model': 'b', 'models': [{'model': 'ft0', 'parameters': " + p0
                    + "}, {'model': 'ft1', 'parameters': " + p1 + "}]}";
            MergeRecipe r = MergeRecipe.parse(JSON.readTree(json.replace('\'', '"')), "r.yaml");
            long n = 1;
            for (long s : shape) n *= s;
            return new MergePlanner(r, 9).plan(new TensorInfo("w", DType.F32, shape, "mem://m", 0, 4 * n), 1);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
    }
}
