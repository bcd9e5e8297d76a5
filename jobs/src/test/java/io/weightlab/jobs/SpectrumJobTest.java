package io.weightlab.jobs;

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
class SpectrumJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyMatrixMatchesTheReference(@TempDir Path tmp) throws IOException {
        for (String fixture : new String[] {"all-minilm-l6-v2", "all-minilm-l6-v2-q-sharded"}) {
            JsonNode ref = Fixtures.reference(fixture.replace("-sharded", "")).get("tensors");
            Path out = tmp.resolve(fixture);
            List<SpectrumJob.MatrixResult> results = SpectrumJob.run(TestSpark.get(), new SpectrumJob.Options(
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
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.get(), new SpectrumJob.Options(
                Fixtures.dir("all-minilm-l6-v2").toUri().toString(), null, false, Set.of(), 4096L << 20, false,
                new int[] {128, 128}, true), System.out);
        SpectrumJob.MatrixResult emb = r.stream().filter(x -> x.name().equals("embeddings.word_embeddings.weight")).findFirst().orElseThrow();
        assertTrue(emb.status().contains("--include embeddings"), emb.status());
    }

    /** Matrices forced through the distributed Gram route, tall and wide: their top 64 values agree with dgesdd to 1e-6 relative. */
    @Test
    void distributedRouteAgreesWithExact() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode ref = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        // 1 MiB budget: the 1536 x 384 (4.5 MiB as doubles) intermediate matrix must take the distributed path
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.get(), new SpectrumJob.Options(in, null, false, Set.of(),
                1L << 20, true, new int[] {128, 128}, true), System.out);
        SpectrumJob.MatrixResult big = r.stream().filter(x -> x.name().equals("encoder.layer.0.intermediate.dense.weight")).findFirst().orElseThrow();
        assertTrue(((String) big.row().get("method")).startsWith("gram"), big.row().toString());
        JsonNode e = ref.get(big.name()).get("svd").get("singular_values");
        for (int i = 0; i < 64; i++) assertEquals(e.get(i).asDouble(), big.singularValues()[i], 1e-6 * e.get(i).asDouble(), "sv " + i);
        // the 384 x 1536 output.dense is wide: A·Aᵀ over column blocks, the same agreement
        SpectrumJob.MatrixResult wide = r.stream().filter(x -> x.name().equals("encoder.layer.0.output.dense.weight")).findFirst().orElseThrow();
        assertTrue(((String) wide.row().get("method")).startsWith("gram (distributed AAᵀ"), wide.row().toString());
        JsonNode w = ref.get(wide.name()).get("svd").get("singular_values");
        for (int i = 0; i < 64; i++) assertEquals(w.get(i).asDouble(), wide.singularValues()[i], 1e-6 * w.get(i).asDouble(), "wide sv " + i);
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
        List<SpectrumJob.MatrixResult> r = SpectrumJob.run(TestSpark.get(), new SpectrumJob.Options(in, null, false, Set.of(),
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
