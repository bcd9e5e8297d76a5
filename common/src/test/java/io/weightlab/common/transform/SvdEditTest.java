package io.weightlab.common.transform;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.SafetensorsWriter;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.SpectralEdit;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * svd-smooth and svd-sharpen (docs/algorithms.md §34) on matrices whose SVD is known by construction: U and V from
 * the QR of seeded Gaussians, σ chosen. The references are those factors, not a second SVD; noise-plus-signal cases
 * check the MP and trap counts against the planted truth.
 */
class SvdEditTest {
    static final int ROWS = 40, COLS = 25;
    /** σ: a clear gap after the third, then a geometric tail. */
    static final double[] SIGMA = new double[COLS];

    static {
        SIGMA[0] = 10;
        SIGMA[1] = 7;
        SIGMA[2] = 5;
        for (int i = 3; i < COLS; i++) SIGMA[i] = Math.pow(0.9, i - 3);
    }

    static double[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] g = new double[n];
        for (int i = 0; i < n; i++) g[i] = r.nextGaussian();
        return g;
    }

    /** Σ_{i ∈ [from, to)} σᵢ uᵢ vᵢᵀ from the known factors (U rows x COLS, V COLS x COLS, both orthonormal columns). */
    static double[] part(double[] u, double[] v, int from, int to) {
        double[] w = new double[ROWS * COLS];
        for (int t = from; t < to; t++) {
            for (int i = 0; i < ROWS; i++) for (int j = 0; j < COLS; j++) w[i * COLS + j] += SIGMA[t] * u[i * COLS + t] * v[j * COLS + t];
        }
        return w;
    }

    static double relFrobenius(double[] got, double[] want) {
        double d = 0, n = 0;
        for (int i = 0; i < got.length; i++) {
            d += (got[i] - want[i]) * (got[i] - want[i]);
            n += want[i] * want[i];
        }
        return Math.sqrt(d / n);
    }

    static double tailEnergy(int from, int to) {
        double e = 0, total = 0;
        for (int i = COLS - 1; i >= 0; i--) {
            total += SIGMA[i] * SIGMA[i];
            if (i >= from && i < to) e += SIGMA[i] * SIGMA[i];
        }
        return e / total;
    }

    static final double[] U = Lapack.qr(gaussian(ROWS * COLS, 1), ROWS, COLS).q(), V = Lapack.qr(gaussian(COLS * COLS, 2), COLS, COLS).q();
    static final double[] W = part(U, V, 0, COLS);

    @Test
    void smoothTopKIsTheRankKPartAndReportsTheTailEnergy() {
        SpectralEdit.Result r = SpectralEdit.apply(W, ROWS, COLS, SpectralEdit.Mode.KEEP_TOP, new SpectralEdit.Selection(SpectralEdit.By.TOPK, 3, 0, 0));
        assertTrue(relFrobenius(r.matrix(), part(U, V, 0, 3)) < 1e-10, "W' = U_3 S_3 V_3ᵀ: " + relFrobenius(r.matrix(), part(U, V, 0, 3)));
        assertEquals(tailEnergy(3, COLS), r.energyRemoved(), 1e-12, "Σ_{i>3} σ² / Σ σ²");
        assertEquals(3, r.kept());
        assertEquals(COLS - 3, r.removed());

        // the wide orientation (Wᵀ) gives the transposed result
        double[] wt = transpose(W, ROWS, COLS);
        SpectralEdit.Result t = SpectralEdit.apply(wt, COLS, ROWS, SpectralEdit.Mode.KEEP_TOP, new SpectralEdit.Selection(SpectralEdit.By.TOPK, 3, 0, 0));
        assertTrue(relFrobenius(t.matrix(), transpose(part(U, V, 0, 3), ROWS, COLS)) < 1e-10);

        // keep=fraction: k = floor(0.5 x 25) = 12
        SpectralEdit.Result f = SpectralEdit.apply(W, ROWS, COLS, SpectralEdit.Mode.KEEP_TOP, new SpectralEdit.Selection(SpectralEdit.By.FRACTION, 0, 0.5, 0));
        assertEquals(12, f.k());
        assertTrue(relFrobenius(f.matrix(), part(U, V, 0, 12)) < 1e-10);
        assertEquals(tailEnergy(12, COLS), f.energyRemoved(), 1e-12);

        // k above the rank keeps everything: W unchanged, nothing removed
        SpectralEdit.Result all = SpectralEdit.apply(W, ROWS, COLS, SpectralEdit.Mode.KEEP_TOP, new SpectralEdit.Selection(SpectralEdit.By.TOPK, 99, 0, 0));
        assertEquals(0.0, relFrobenius(all.matrix(), W), 0.0);
        assertEquals(0.0, all.energyRemoved(), 0.0);
    }

    @Test
    void sharpenRemovesTheTopKTriplets() {
        SpectralEdit.Result r = SpectralEdit.apply(W, ROWS, COLS, SpectralEdit.Mode.REMOVE_TOP, new SpectralEdit.Selection(SpectralEdit.By.TOPK, 3, 0, 0));
        // W − U_3 S_3 V_3ᵀ = the tail Σ_{i>3} σᵢ uᵢ vᵢᵀ; its norm is ~0.3 of W's, so 1e-9 relative to it
        assertTrue(relFrobenius(r.matrix(), part(U, V, 3, COLS)) < 1e-9, "W' = W − U_3 S_3 V_3ᵀ: " + relFrobenius(r.matrix(), part(U, V, 3, COLS)));
        assertEquals(tailEnergy(0, 3), r.energyRemoved(), 1e-12, "Σ_{i≤3} σ² / Σ σ²");
        assertEquals(3, r.removed());
        assertEquals(COLS - 3, r.kept());
    }

    /** N(0, 1) noise 600 x 300 plus a rank-4 signal at 3-6x the BBP level (NM)^{1/4} ≈ 20.6. */
    static double[] noisePlusSignal(int planted, double[] theta) {
        int n = 600, m = 300;
        double[] w = gaussian(n * m, 7);
        double[] u = Lapack.qr(gaussian(n * planted, 8), n, planted).q(), v = Lapack.qr(gaussian(m * planted, 9), m, planted).q();
        for (int t = 0; t < planted; t++) {
            for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) w[i * m + j] += theta[t] * u[i * planted + t] * v[j * planted + t];
        }
        return w;
    }

    @Test
    void mpSpikesKeepExactlyThePlantedRankAndPureNoiseIsLeftAlone() {
        double[] w = noisePlusSignal(4, new double[] {120, 100, 80, 62});
        SpectralEdit.Result r = SpectralEdit.apply(w, 600, 300, SpectralEdit.Mode.KEEP_TOP, new SpectralEdit.Selection(SpectralEdit.By.MP_SPIKES, 0, 0, 0));
        assertEquals(4, r.detected(), "the four planted directions, nothing of the bulk");
        assertEquals(4, r.kept());
        // Eckart–Young: the result has W's top 4 singular values and nothing else, and W − W' is orthogonal to W'
        double[] s = Lapack.singularValues(w, 600, 300), s2 = Lapack.singularValues(r.matrix(), 600, 300);
        for (int i = 0; i < 4; i++) assertEquals(s[i], s2[i], 1e-10 * s[0]);
        assertTrue(s2[4] < 1e-10 * s[0], "rank 4: " + s2[4]);
        double dot = 0;
        for (int i = 0; i < w.length; i++) dot += (w[i] - r.matrix()[i]) * r.matrix()[i];
        assertEquals(0.0, dot, 1e-9 * s[0] * s[0]);

        double[] noise = gaussian(600 * 300, 7);
        SpectralEdit.Result none = SpectralEdit.apply(noise, 600, 300, SpectralEdit.Mode.KEEP_TOP, new SpectralEdit.Selection(SpectralEdit.By.MP_SPIKES, 0, 0, 0));
        assertEquals(0, none.detected());
        assertEquals(0.0, relFrobenius(none.matrix(), noise), 0.0, "no spike: unchanged, as WeightWatcher's k = 0");
    }

    @Test
    void sharpenByTrapsRemovesOneDirectionPerLargeElement() {
        double[] noise = gaussian(600 * 300, 7);
        SpectralEdit.Selection traps = new SpectralEdit.Selection(SpectralEdit.By.TRAPS, 0, 0, 42);
        SpectralEdit.Result clean = SpectralEdit.apply(noise, 600, 300, SpectralEdit.Mode.REMOVE_TOP, traps);
        assertEquals(0, clean.detected(), "pure noise has no trap");
        assertEquals(0.0, relFrobenius(clean.matrix(), noise), 0.0);

        double[] trapped = noise.clone();
        trapped[0] = 200; // survives any permutation as a spike (WeightWatcher oracle 3, scaled)
        SpectralEdit.Result r = SpectralEdit.apply(trapped, 600, 300, SpectralEdit.Mode.REMOVE_TOP, traps);
        assertEquals(1, r.detected());
        assertEquals(1, r.removed());
        Lapack.Factors f = Lapack.svd(trapped, 600, 300);
        double[] want = trapped.clone();
        for (int i = 0; i < 600; i++) for (int j = 0; j < 300; j++) want[i * 300 + j] -= f.s()[0] * f.u()[i * 300] * f.vt()[j];
        assertTrue(relFrobenius(r.matrix(), want) < 1e-12, "W − σ₁u₁v₁ᵀ");
    }

    static double[] transpose(double[] a, int r, int c) {
        double[] t = new double[a.length];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
        return t;
    }

    /**
     * Through the method contract and the shard writer (no Spark): a bias and a norm are left alone, the matrix is
     * W' in float64 exactly as SpectralEdit gives it, and k and the removed energy come back in the shard's facts.
     */
    @Test
    void theMethodWritesThroughTheShardWriterAndReportsItsFacts(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        String name = "model.layers.0.mlp.up_proj.weight";
        Path in = dir.resolve("in.safetensors");
        byte[] bytes = new byte[W.length * 8];
        ElementEncoder.encode(DType.F64, W, 0, W.length, bytes, 0);
        try (OutputStream os = Files.newOutputStream(in);
             SafetensorsWriter w = new SafetensorsWriter(os, SafetensorsLayout.of(List.of(new SafetensorsLayout.Spec(name, DType.F64, new long[] {ROWS, COLS})), null), "in")) {
            w.write(bytes);
        }
        TensorInfo t = CheckpointCatalog.open(conf, in.toString()).tensors().get(0);
        WeightMethod smooth = MethodRegistry.create("svd-smooth:keep=topk,k=3", p -> null);
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(W, 0, W.length);
        TensorContext ctx = TensorContext.of(t, TensorContext.Layout.LINEAR, 1, 0, m);
        assertTrue(smooth.needsMoments(ctx), "moments are measured to refuse NaN/Inf before writing");
        TransformPlan plan = smooth.plan(ctx);
        Path out = dir.resolve("out.safetensors");
        TransformedShardWriter.ShardResult res;
        try (RangeReader r = new RangeReader(conf); OutputStream os = Files.newOutputStream(out)) {
            res = TransformedShardWriter.write(r, os, "out.safetensors", List.of(new TransformPlanner.Planned(t, "up_proj=svd-smooth", plan.action(), plan.why(), DType.F64)), Map.of());
        }
        TensorInfo o = CheckpointCatalog.open(conf, out.toString()).tensors().get(0);
        byte[] got = new byte[(int) o.byteLength()];
        try (RangeReader r = new RangeReader(conf)) {
            r.read(o.file(), o.dataBegin(), got, 0, got.length);
        }
        double[] written = new double[W.length];
        ElementDecoder.decode(DType.F64, got, 0, written.length, written, 0);
        assertTrue(relFrobenius(written, part(U, V, 0, 3)) < 1e-10);
        Map<String, Object> facts = res.facts().get(name);
        assertEquals(3, facts.get("k_kept"));
        assertEquals(COLS - 3, facts.get("k_removed"));
        assertEquals(tailEnergy(3, COLS), (double) facts.get("energy_removed"), 1e-12);
        assertEquals("topk", facts.get("selected_by"));

        TensorInfo bias = new TensorInfo("model.layers.0.mlp.up_proj.bias", DType.F32, new long[] {ROWS}, "x", 0, ROWS * 4);
        assertTrue(!smooth.plan(TensorContext.of(bias, TensorContext.Layout.LINEAR, 1, 0, null)).action().changesValues(), "a bias is left alone");
        MomentAccumulator nan = new MomentAccumulator();
        nan.addBlock(new double[] {1, Double.NaN}, 0, 2);
        String e = assertThrows(UsageException.class, () -> smooth.plan(TensorContext.of(t, TensorContext.Layout.LINEAR, 1, 0, nan))).getMessage();
        assertTrue(e.contains("FiniteValues") && e.contains(name), e);
    }

    @Test
    void badParametersAreRefusedNamingWhatIsAllowed() {
        String e = assertThrows(UsageException.class, () -> MethodRegistry.create("svd-smooth:keep=topk,k=0", p -> null)).getMessage();
        assertTrue(e.contains("k=0 is outside [1, "), e);
        e = assertThrows(UsageException.class, () -> MethodRegistry.create("svd-smooth:keep=energy", p -> null)).getMessage();
        assertTrue(e.contains("keep=energy is not one of mp-spikes, topk, fraction"), e);
        e = assertThrows(UsageException.class, () -> MethodRegistry.create("svd-smooth:keep=topk", p -> null)).getMessage();
        assertTrue(e.contains("keep=topk needs k="), e);
        e = assertThrows(UsageException.class, () -> MethodRegistry.create("svd-smooth:k=4", p -> null)).getMessage();
        assertTrue(e.contains("k is read only with keep=topk, not mp-spikes"), e);
        e = assertThrows(UsageException.class, () -> MethodRegistry.create("svd-smooth:keep=fraction,fraction=1", p -> null)).getMessage();
        assertTrue(e.contains("fraction=1 is outside (0, 1)"), e);
        e = assertThrows(UsageException.class, () -> MethodRegistry.create("svd-sharpen:remove=topk,fraction=0.5", p -> null)).getMessage();
        assertTrue(e.contains("unknown parameter 'fraction'"), e);
    }
}
