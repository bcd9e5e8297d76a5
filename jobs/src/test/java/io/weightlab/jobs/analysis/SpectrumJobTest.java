package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spectrum job on local Spark: every matrix of both fixtures against numpy's gesdd in reference.json. */
public class SpectrumJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyMatrixMatchesTheReference(@TempDir Path tmp) throws IOException {
        for (String fixture : new String[] {"all-minilm-l6-v2", "all-minilm-l6-v2-q-sharded"}) {
            JsonNode ref = Fixtures.reference(fixture.replace("-sharded", "")).get("tensors");
            Path out = tmp.resolve(fixture);
            List<SpectrumJob.MatrixResult> results = SpectrumJob.run(TestSpark.context(), new SpectrumJob.Options(
                    Fixtures.dir(fixture).toUri().toString(), out.toUri().toString(), false, Set.of("embeddings"),
                    4096L << 20, true, new int[] {128, 128}, false), System.out);
            int ok = 0;
            for (SpectrumJob.MatrixResult r : results) {
                JsonNode svd = ref.get(r.name()).get("svd");
                if (!r.status().equals("ok")) {
                    assertTrue(r.status().startsWith("not analysed: "), r.status());
                    continue;
                }
                JsonNode e = svd.get("singular_values");
                assertEquals(e.size(), r.singularValues().length, r.name());
                double tol = 1e-10 * e.get(0).asDouble();
                for (int i = 0; i < e.size(); i++) assertEquals(e.get(i).asDouble(), r.singularValues()[i], tol, r.name() + " sv " + i);
                assertEquals(svd.get("stable_rank").asDouble(), (double) r.row().get("stable_rank"), 1e-10 * svd.get("stable_rank").asDouble());
                assertEquals(svd.get("effective_rank").asDouble(), (double) r.row().get("effective_rank"), 1e-10 * svd.get("effective_rank").asDouble());
                ok++;
            }
            // 40 2-D tensors: 39 weights (embeddings included) and the position_ids buffer, listed with its reason
            assertEquals(39, ok, fixture);
            assertEquals(40, results.size(), fixture);
            JsonNode written = JSON.readTree(out.resolve("spectrum.json").toFile()).get("matrices");
            assertEquals(40, written.size());
            assertTrue(Files.exists(out.resolve("_SUCCESS")) && Files.isDirectory(out.resolve("spectrum.parquet")));
            JsonNode svs = JSON.readTree(out.resolve("singular_values.json").toFile());
            assertEquals(39, svs.size());
        }
    }

    @Test
    void embeddingsAreListedNotDroppedWhenExcluded() {
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.context(), new SpectrumJob.Options(
                Fixtures.dir("all-minilm-l6-v2").toUri().toString(), null, false, Set.of(), 4096L << 20, false,
                new int[] {128, 128}, true), System.out);
        SpectrumJob.MatrixResult emb = r.stream().filter(x -> x.name().equals("embeddings.word_embeddings.weight")).findFirst().orElseThrow();
        assertTrue(emb.status().contains("--include embeddings"), emb.status());
    }

    /** Runs with the distributed routes' blocks set to {@code bytes} (so that small matrices span many blocks). */
    static List<SpectrumJob.MatrixResult> withBlockBytes(long bytes, SpectrumJob.Options o) {
        org.apache.hadoop.conf.Configuration h = TestSpark.get().sparkContext().hadoopConfiguration();
        h.setLong(DistributedSpectrum.BLOCK_KEY, bytes);
        try {
            return SpectrumJob.run(TestSpark.context(), o, System.out);
        } finally {
            h.unset(DistributedSpectrum.BLOCK_KEY);
        }
    }

    static SpectrumJob.MatrixResult named(List<SpectrumJob.MatrixResult> r, String name) {
        return r.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
    }

    /**
     * Matrices forced through the distributed Gram route, tall and wide, in 256 KiB blocks (19 of them): their top
     * 64 values agree with dgesdd to 1e-6 relative.
     */
    @Test
    void distributedRouteAgreesWithExact() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode ref = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        // 1 MiB budget: the 1536 x 384 (4.5 MiB as doubles) intermediate matrix must take the distributed path
        List<SpectrumJob.MatrixResult> r = withBlockBytes(256 << 10, new SpectrumJob.Options(in, null, false, Set.of(),
                1L << 20, true, new int[] {128, 128}, true));
        SpectrumJob.MatrixResult big = named(r, "encoder.layer.0.intermediate.dense.weight");
        assertEquals("gram (distributed AᵀA over 19 row slices + dsyevd)", big.row().get("method"));
        JsonNode e = ref.get(big.name()).get("svd").get("singular_values");
        for (int i = 0; i < 64; i++) assertEquals(e.get(i).asDouble(), big.singularValues()[i], 1e-6 * e.get(i).asDouble(), "sv " + i);
        // the 384 x 1536 output.dense is wide: A·Aᵀ over column blocks, the same agreement
        SpectrumJob.MatrixResult wide = named(r, "encoder.layer.0.output.dense.weight");
        assertEquals("gram (distributed AAᵀ over 19 column blocks + dsyevd)", wide.row().get("method"));
        JsonNode w = ref.get(wide.name()).get("svd").get("singular_values");
        for (int i = 0; i < 64; i++) assertEquals(w.get(i).asDouble(), wide.singularValues()[i], 1e-6 * w.get(i).asDouble(), "wide sv " + i);
    }

    /** A one-file F32 checkpoint: three 600 x 100 / 100 x 600 Gaussian matrices, one with a NaN and one with an Inf. */
    static Path nonFiniteCheckpoint(Path dir) throws IOException {
        String[] names = {"model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.self_attn.q_proj.weight"};
        long[][] shapes = {{600, 100}, {600, 100}, {100, 600}};
        com.fasterxml.jackson.databind.node.ObjectNode header = JSON.createObjectNode();
        long off = 0;
        for (int i = 0; i < names.length; i++) {
            long bytes = shapes[i][0] * shapes[i][1] * 4;
            com.fasterxml.jackson.databind.node.ObjectNode e = header.putObject(names[i]);
            e.put("dtype", "F32");
            e.putArray("shape").add(shapes[i][0]).add(shapes[i][1]);
            e.putArray("data_offsets").add(off).add(off + bytes);
            off += bytes;
        }
        byte[] h = JSON.writeValueAsBytes(header);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) (8 + h.length + off)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        java.util.SplittableRandom g = new java.util.SplittableRandom(5);
        for (int i = 0; i < 3 * 60000; i++) {
            float v = (float) g.nextGaussian();
            if (i == 60000 + 31337) v = Float.NaN;                   // up_proj
            if (i == 120000 + 4242) v = Float.NEGATIVE_INFINITY;      // q_proj (wide)
            b.putFloat(v);
        }
        java.nio.file.Files.createDirectories(dir);
        Path f = dir.resolve("model.safetensors");
        java.nio.file.Files.write(f, b.array());
        return dir;
    }

    /**
     * NaN/Inf in a matrix on the distributed routes: listed as not analysed (as a single task lists it), the job goes
     * on, and the finite matrix beside it still gets its spectrum (against dgesdd, 1e-6). Gram route, then Krylov.
     */
    @Test
    void distributedRoutesListNonFiniteMatricesAsNotAnalysed(@TempDir Path tmp) throws IOException {
        String in = nonFiniteCheckpoint(tmp.resolve("m")).toUri().toString();
        double[] exact;
        try (io.weightlab.common.io.RangeReader rr = new io.weightlab.common.io.RangeReader(new org.apache.hadoop.conf.Configuration())) {
            io.weightlab.common.io.Checkpoint c = io.weightlab.common.io.CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(), in);
            io.weightlab.common.model.TensorInfo t = c.tensor("model.layers.0.mlp.down_proj.weight");
            exact = io.weightlab.common.linalg.Lapack.singularValues(io.weightlab.common.io.TensorValues.read(rr, t, 0, t.elementCount(), null), 600, 100);
        }
        for (boolean randomized : new boolean[] {false, true}) {
            // 64 KiB budget: every matrix (470 KiB as doubles) goes distributed, in 32 KiB blocks; G (78 KiB) is over it too
            SpectrumJob.Options o = randomized
                    ? new SpectrumJob.Options(in, null, false, Set.of(), 64L << 10, false, new int[] {128, 128}, true, true, 16, 6, 1, 0, null)
                    : new SpectrumJob.Options(in, null, false, Set.of(), 64L << 10, false, new int[] {128, 128}, true);
            List<SpectrumJob.MatrixResult> r = withBlockBytes(32 << 10, o);
            String route = randomized ? "randomized block Krylov" : "gram (distributed";
            SpectrumJob.MatrixResult ok = named(r, "model.layers.0.mlp.down_proj.weight");
            String method = (String) ok.row().get("method");
            assertTrue(method.startsWith(route) && method.contains("distributed"), ok.row().toString());
            for (int i = 0; i < 16; i++) assertEquals(exact[i], ok.singularValues()[i], 1e-6 * exact[i], route + " sv " + i);
            for (String bad : new String[] {"model.layers.0.mlp.up_proj.weight", "model.layers.0.self_attn.q_proj.weight"}) {
                SpectrumJob.MatrixResult m = named(r, bad);
                assertEquals("not analysed: the matrix holds NaN or Inf", m.status(), route + " " + bad);
                assertEquals(0, m.singularValues().length);
            }
        }
    }

    /** Block Krylov whose blocks reach the short side (7 x 72 > 384 columns) spans all of it: exact top-64 (1e-9). */
    @Test
    void distributedKrylovThatSpansTheShortSideIsExact() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode ref = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        List<SpectrumJob.MatrixResult> r = withBlockBytes(256 << 10, new SpectrumJob.Options(in, null, false, Set.of(),
                512L << 10, false, new int[] {128, 128}, true, true, 64, 6, 1, 0, null));
        SpectrumJob.MatrixResult m = named(r, "encoder.layer.0.output.dense.weight");
        // 5 blocks of 72 reach 360 columns, the 6th 432 > 384: cut to 384, then the Rayleigh-Ritz pass
        assertTrue(((String) m.row().get("method")).contains("5 iterations, 7 passes"), m.row().toString());
        JsonNode e = ref.get(m.name()).get("svd").get("singular_values");
        for (int i = 0; i < 64; i++) assertEquals(e.get(i).asDouble(), m.singularValues()[i], 1e-9 * e.get(i).asDouble(), "sv " + i);
    }

    /** --method randomized on a matrix over the budget whose Gram matrix fits it: the Gram route's exact top-64 (1e-6). */
    @Test
    void randomizedOverTheBudgetTakesTheGramRouteWhenItFits() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode ref = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.context(), new SpectrumJob.Options(in, null, false, Set.of(),
                2L << 20, false, new int[] {128, 128}, true, true, 64, 4, 1, 0, null), System.out);
        SpectrumJob.MatrixResult m = named(r, "encoder.layer.0.intermediate.dense.weight");
        assertTrue(((String) m.row().get("method")).startsWith("gram (distributed AᵀA"), m.row().toString());
        assertEquals(64, m.singularValues().length);
        JsonNode e = ref.get(m.name()).get("svd").get("singular_values");
        for (int i = 0; i < 64; i++) assertEquals(e.get(i).asDouble(), m.singularValues()[i], 1e-6 * e.get(i).asDouble(), "sv " + i);
    }

    /**
     * --method randomized on matrices whose Gram matrix is over the budget too: distributed block Krylov on the short
     * side's Gram operator, in 19 blocks. Top-64 (block 72, 4 iterations: a 360-dimensional space out of 384): σ_1 within 1e-9 of dgesdd and
     * all 64 within 5e-5 (measured 2.7e-5 at σ_60 of the flat tail), tall and wide; top-16 (block 24, a
     * 120-dimensional space) σ_1 within 1e-9 and all sixteen within 1e-3 (measured 1.7e-4); Ritz values never above the exact ones
     * (Courant–Fischer) beyond rounding. The Gram route above is the one held to 1e-6 on the whole top 64.
     */
    @Test
    void distributedKrylovAgreesWithExact() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode ref = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        for (int k : new int[] {64, 16}) {
            // 512 KiB budget: neither the matrices (4.5 MiB as doubles) nor their 384 x 384 Gram matrix (1.1 MiB) fit it
            List<SpectrumJob.MatrixResult> r = withBlockBytes(256 << 10, new SpectrumJob.Options(in, null, false, Set.of(),
                    512L << 10, false, new int[] {128, 128}, true, true, k, 4, 1, 0, null));
            for (String name : new String[] {"encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.weight"}) {
                SpectrumJob.MatrixResult m = named(r, name);
                String method = (String) m.row().get("method");
                assertTrue(method.startsWith("randomized block Krylov top-" + k + " (distributed on " + (name.contains("output") ? "AAᵀ" : "AᵀA")), method);
                assertTrue(method.contains("6 passes over 19 blocks"), method);
                assertEquals(k, m.singularValues().length);
                JsonNode e = ref.get(name).get("svd").get("singular_values");
                double worst = 0;
                for (int i = 0; i < k; i++) worst = Math.max(worst, Math.abs(m.singularValues()[i] / e.get(i).asDouble() - 1));
                System.out.printf("[test] %s top-%d worst relative error %.2e, first %.2e%n", name, k, worst, Math.abs(m.singularValues()[0] / e.get(0).asDouble() - 1));
                for (int i = 0; i < k; i++) {
                    double exact = e.get(i).asDouble(), ours = m.singularValues()[i];
                    double tol = i == 0 ? 1e-9 : k == 64 ? 5e-5 : 1e-3;
                    assertEquals(exact, ours, tol * exact, name + " top-" + k + " sv " + i);
                    assertTrue(ours <= exact * (1 + 1e-10), name + " sv " + i + " above exact: " + ours + " > " + exact);
                }
            }
        }
    }

    /**
     * --method randomized, top-16 with 6 power iterations, on every matrix of a real model, whose spectra are
     * flat at the top (gaps of 0.2 %): the leading value within 1e-3, all sixteen within 2e-2 (convergence goes as (σ_{2k+1}/σ_i)^(2q+1), slow on flat spectra), never above exact
     * by more than the float32 products' rounding.
     */
    @Test
    void randomizedTopK() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode ref = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.context(), new SpectrumJob.Options(in, null, false, Set.of(),
                4096L << 20, false, new int[] {128, 128}, true, true, 16, 6, 1, 0, null), System.out);
        int n = 0;
        for (SpectrumJob.MatrixResult m : r) {
            if (!m.status().equals("ok")) continue;
            JsonNode e = ref.get(m.name()).get("svd").get("singular_values");
            assertEquals(16, m.singularValues().length);
            assertEquals(e.get(0).asDouble(), m.singularValues()[0], 1e-3 * e.get(0).asDouble(), m.name() + " sv 0");
            for (int i = 0; i < 16; i++) {
                assertEquals(e.get(i).asDouble(), m.singularValues()[i], 2e-2 * e.get(i).asDouble(), m.name() + " sv " + i);
                // Ritz values never exceed the exact ones; the float32 products (F32 weights) add rounding of ~1e-7 relative
                assertTrue(m.singularValues()[i] <= e.get(i).asDouble() * (1 + 1e-6), m.name() + " sv " + i + " above exact");
            }
            n++;
        }
        assertEquals(36, n);
    }

    /**
     * Experts fused into one 3-D tensor [E, in, out] (gpt-oss / Llama 4 layout): each expert is analysed as its own
     * matrix under the unfused name (…experts.e.down_proj, expert index parsed). Oracle: expert e is planted as
     * U_e diag(s_e) V_eᵀ with s_{e,i} = (e + 1)(16 − i), stored in F64, so its spectrum is known to 1e-12.
     */
    @Test
    void fusedExpertTensorsAreAnalysedPerExpert(@TempDir Path tmp) throws IOException {
        int experts = 3, in = 24, out = 16;
        java.nio.ByteBuffer fused = java.nio.ByteBuffer.allocate(experts * in * out * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.util.Random rnd = new java.util.Random(11);
        for (int e = 0; e < experts; e++) {
            double[] u = io.weightlab.common.linalg.Lapack.orthonormalize(gaussian(rnd, in * out), in, out);
            double[] v = io.weightlab.common.linalg.Lapack.orthonormalize(gaussian(rnd, out * out), out, out);
            for (int i = 0; i < in; i++) {
                for (int j = 0; j < out; j++) {
                    double x = 0;
                    for (int l = 0; l < out; l++) x += u[i * out + l] * (e + 1) * (16 - l) * v[j * out + l];
                    fused.putDouble(x);
                }
            }
        }
        java.nio.ByteBuffer q = java.nio.ByteBuffer.allocate(16 * 16 * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16 * 16; i++) q.putDouble(rnd.nextGaussian());
        String fusedName = "model.layers.0.mlp.experts.down_proj";
        io.weightlab.common.io.SafetensorsLayout layout = io.weightlab.common.io.SafetensorsLayout.of(List.of(
                new io.weightlab.common.io.SafetensorsLayout.Spec("model.layers.0.self_attn.q_proj.weight", io.weightlab.common.model.DType.F64, new long[] {16, 16}),
                new io.weightlab.common.io.SafetensorsLayout.Spec(fusedName, io.weightlab.common.model.DType.F64, new long[] {experts, in, out})),
                java.util.Map.of("format", "pt"));
        Path file = tmp.resolve("model.safetensors");
        try (java.io.OutputStream os = Files.newOutputStream(file);
             io.weightlab.common.io.SafetensorsWriter w = new io.weightlab.common.io.SafetensorsWriter(os, layout, file.toString())) {
            for (io.weightlab.common.io.SafetensorsLayout.Entry en : layout.entries()) {
                w.write(en.spec().name().equals(fusedName) ? fused.array() : q.array());
            }
        }
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.context(), new SpectrumJob.Options(file.toUri().toString(), null, false,
                Set.of(), 4096L << 20, false, new int[] {128, 128}, true), System.out);
        assertEquals(1 + experts, r.stream().filter(m -> m.status().equals("ok")).count(), r.toString());
        for (int e = 0; e < experts; e++) {
            SpectrumJob.MatrixResult m = named(r, "model.layers.0.mlp.experts." + e + ".down_proj");
            assertEquals(e, m.row().get("expert"));
            assertEquals(24L, m.row().get("rows"));
            assertEquals(16L, m.row().get("cols"));
            for (int i = 0; i < out; i++) assertEquals((e + 1) * (16 - i), m.singularValues()[i], 1e-12 * 16 * (e + 1), "expert " + e + " sv " + i);
        }
    }

    static double[] gaussian(java.util.Random rnd, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextGaussian();
        return x;
    }

    /** --factors 8: U diag(S) Vᵀ of the written factors is the best rank-8 approximation (Eckart–Young residual). */
    @Test
    void topFactorsAreWrittenAsSafetensors(@TempDir Path tmp) {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        Path out = tmp.resolve("spec");
        Cli.Run r = Cli.run("spectrum", in, "--out", out.toString(), "--factors", "8", "--no-powerlaw");
        assertEquals(0, r.exit(), r.err());
        String name = "encoder.layer.1.attention.self.value.weight";
        io.weightlab.common.io.Checkpoint f = io.weightlab.common.io.CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(),
                out.resolve("factors").resolve(name + ".safetensors").toUri().toString());
        double[] u = readAll(f, name + ".U"), s = readAll(f, name + ".S"), v = readAll(f, name + ".V");
        assertEquals(384 * 8, u.length);
        JsonNode e = Fixtures.reference("all-minilm-l6-v2").get("tensors").get(name).get("svd").get("singular_values");
        for (int i = 0; i < 8; i++) assertEquals(e.get(i).asDouble(), s[i], 1e-10 * e.get(0).asDouble());
        double[] w = readAll(io.weightlab.common.io.CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(), in), name);
        double err = 0, tail = 0;
        for (int i = 0; i < 384; i++) {
            for (int j = 0; j < 384; j++) {
                double x = 0;
                for (int t = 0; t < 8; t++) x += u[i * 8 + t] * s[t] * v[j * 8 + t];
                err += (w[i * 384 + j] - x) * (w[i * 384 + j] - x);
            }
        }
        for (int t = 8; t < e.size(); t++) tail += e.get(t).asDouble() * e.get(t).asDouble();
        assertEquals(tail, err, 1e-8 * tail);
    }

    static double[] readAll(io.weightlab.common.io.Checkpoint c, String name) {
        io.weightlab.common.model.TensorInfo t = c.tensor(name);
        double[] x = new double[(int) t.elementCount()];
        try (io.weightlab.common.io.RangeReader r = new io.weightlab.common.io.RangeReader(new org.apache.hadoop.conf.Configuration())) {
            io.weightlab.common.io.ElementDecoder.decode(t.dtype(), r.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, x.length, x, 0);
        }
        return x;
    }
}
