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
        SpectrumJob.MatrixResult big = SpectrumJob.run(TestSpark.get(), new SpectrumJob.Options(
                Fixtures.dir("all-minilm-l6-v2").toUri().toString(), null, false, Set.of("embeddings"), 1L << 20, false,
                new int[] {128, 128}, true), System.out).stream().filter(x -> x.name().equals("encoder.layer.0.intermediate.dense.weight")).findFirst().orElseThrow();
        assertTrue(big.status().contains("--max-exact-mb"), big.status());
    }
}
