package io.weightlab.jobs.analysis;

import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stats job end to end on local Spark against the fixtures' numpy reference (relative 1e-9, min/max exact),
 * with slices small enough that most tensors are split and merged.
 */
public class StatsJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static StatsJob.Result run(String input, String out, boolean dequantize, long sliceBytes) {
        return StatsJob.run(TestSpark.context(), new StatsJob.Options(input, out, true, sliceBytes, dequantize, new int[] {128, 128}), System.out);
    }

    static void close(double expected, double actual, String what) {
        if (Double.isNaN(expected)) {
            assertTrue(Double.isNaN(actual), what + ": expected NaN, got " + actual);
            return;
        }
        assertEquals(expected, actual, Math.max(1e-9 * Math.abs(expected), 1e-12), what);
    }

    @Test
    void rawStatisticsOfBothFixturesMatchTheReference(@TempDir Path tmp) throws IOException {
        for (String fixture : new String[] {"all-minilm-l6-v2", "all-minilm-l6-v2-q-sharded"}) {
            JsonNode ref = Fixtures.reference(fixture.replace("-sharded", "")).get("tensors");
            Path out = tmp.resolve(fixture);
            StatsJob.Result r = run(Fixtures.dir(fixture).toUri().toString(), out.toUri().toString(), false, 256 << 10);
            assertEquals(ref.size(), r.tensors().size());
            int fitted = 0, mleClose = 0;
            StringBuilder mleOff = new StringBuilder();
            for (StatsRow row : r.tensors()) {
                JsonNode e = ref.get(row.name());
                assertEquals(e.get("count").asLong(), row.finite(), row.name());
                close(e.get("mean").asDouble(), row.mean(), row.name() + " mean");
                close(e.get("std").asDouble(), row.std(), row.name() + " std");
                close(e.get("l2_norm").asDouble(), row.l2(), row.name() + " l2");
                assertEquals(e.get("min").asDouble(), row.min(), 0.0, row.name() + " min");
                assertEquals(e.get("max").asDouble(), row.max(), 0.0, row.name() + " max");
                if (!e.get("kurtosis_excess").isNull()) close(e.get("kurtosis_excess").asDouble(), row.kurtosisExcess(), row.name() + " kurtosis");
                JsonNode g = e.get("gennorm");
                if (g != null && !g.get("moment_beta_mad").isNull() && row.moduleKind().equals("buffer")) {
                    assertEquals("not a weight (quantization side tensor or buffer)", row.gg().status(), row.name());
                } else if (g != null && !g.get("moment_beta_mad").isNull()) {
                    // moment shapes to 1e-6 of the reference
                    assertEquals(g.get("moment_beta_mad").asDouble(), row.gg().betaMoment(), 1e-6 * g.get("moment_beta_mad").asDouble(), row.name());
                    assertEquals(g.get("moment_scale_mad").asDouble(), row.gg().alphaMoment(), 1e-6 * g.get("moment_scale_mad").asDouble(), row.name());
                    assertEquals("converged", row.gg().status(), row.name());
                    if (Math.abs(g.get("beta").asDouble() - row.gg().beta()) <= 0.01 * g.get("beta").asDouble()) mleClose++;
                    else mleOff.append(' ').append(row.name()).append(" ours ").append(row.gg().beta()).append(" scipy ").append(g.get("beta").asDouble());
                    fitted++;
                }
            }
            assertEquals(39, fitted, "every 2-D weight of " + fixture + " (40 2-D tensors less the position_ids buffer) is fitted");
            // scipy also fits the location; with the location at the mean, heavy-tailed tensors can land elsewhere
            assertTrue(mleClose >= 0.9 * fitted, mleClose + " of " + fitted + " MLE shapes within 1 % of scipy; off:" + mleOff);
            // Written and committed: JSON rows carry the same numbers, and the report exists.
            assertTrue(Files.exists(out.resolve("_SUCCESS")));
            assertTrue(Files.exists(out.resolve("report.html")));
            assertTrue(Files.isDirectory(out.resolve("stats.parquet")));
            assertFalse(Files.exists(out.resolve("_temporary")), "staging must be gone after commit");
            JsonNode doc = JSON.readTree(out.resolve("stats.json").toFile());
            Map<String, JsonNode> rows = new HashMap<>();
            for (JsonNode n : doc.get("rows")) if (n.get("level").asText().equals("tensor")) rows.put(n.get("name").asText(), n);
            for (StatsRow row : r.tensors()) {
                // full precision: the JSON text reads back to the very same double
                assertEquals(row.mean(), rows.get(row.name()).get("mean").asDouble(), 0.0, row.name());
                assertEquals(row.std(), rows.get(row.name()).get("std").asDouble(), 0.0, row.name());
            }
            String csv = Files.readString(out.resolve("stats.csv"));
            assertTrue(csv.startsWith("level,name,dtype,shape,"), csv.substring(0, 60));
            // every tensor's value histogram against np.histogram over the same edges: equal, but for values whose
            // float32 bucket midpoint (2^-8 relative) falls across an edge, each of which moves one count
            JsonNode hists = JSON.readTree(out.resolve(StatsJob.HISTOGRAMS).toFile());
            assertEquals(r.tensors().size(), hists.get("tensors").size(), "a histogram for every tensor");
            Python.require("numpy", "safetensors");
            JsonNode np = JSON.readTree(Python.script(Python.testScript("hist_check.py"), Fixtures.dir(fixture).toString(), out.resolve(StatsJob.HISTOGRAMS).toString()));
            for (JsonNode h : hists.get("tensors")) {
                JsonNode e = np.get(h.get("tensor").asText());
                assertTrue(e.get("diff").asLong() <= 2 * e.get("ambiguous").asLong(), h.get("tensor").asText() + ": " + e);
                assertTrue(Math.abs(e.get("ours").asLong() - e.get("in_range").asLong()) <= e.get("ambiguous").asLong(), h.get("tensor").asText() + ": " + e);
            }
        }
    }

    @Test
    void dequantizedStatisticsMatchNumpy(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "safetensors");
        Path model = Fixtures.dir("all-minilm-l6-v2-q").resolve("model.safetensors");
        JsonNode ref = JSON.readTree(Python.script(Python.testScript("dequant_reference.py"), model.toString()));
        StatsJob.Result r = run(model.toUri().toString(), null, true, 64 << 10);
        int checked = 0;
        for (StatsRow row : r.tensors()) {
            JsonNode e = ref.get(row.name());
            if (e == null) {
                assertFalse(row.dequantized(), row.name() + " has no scale but was dequantized");
                continue;
            }
            assertTrue(row.dequantized(), row.name());
            close(e.get("mean").asDouble(), row.mean(), row.name() + " mean");
            close(e.get("std").asDouble(), row.std(), row.name() + " std");
            close(e.get("l2_norm").asDouble(), row.l2(), row.name() + " l2");
            close(e.get("kurtosis_excess").asDouble(), row.kurtosisExcess(), row.name() + " kurtosis");
            assertEquals(e.get("min").asDouble(), row.min(), 0.0, row.name() + " min");
            assertEquals(e.get("max").asDouble(), row.max(), 0.0, row.name() + " max");
            checked++;
        }
        assertEquals(39, checked, "36 Linear weights and 3 embeddings are quantized");
        // The dequantized model is close to the float one: the scale is what turns int8 into weights.
        JsonNode floatRef = Fixtures.reference("all-minilm-l6-v2").get("tensors");
        for (StatsRow row : r.tensors()) {
            if (!row.dequantized()) continue;
            double fs = floatRef.get(row.name()).get("std").asDouble();
            assertEquals(fs, row.std(), 0.02 * fs, row.name() + " std of the dequantized vs the float model");
        }
    }

    @Test
    void resultsAreIdenticalHoweverTheWorkIsSliced() {
        String in = Fixtures.dir("all-minilm-l6-v2-q-sharded").toUri().toString();
        StatsJob.Result a = run(in, null, true, 1 << 30);
        StatsJob.Result b = run(in, null, true, 32 << 10);
        assertEquals(a.tensors().size(), b.tensors().size());
        for (int i = 0; i < a.tensors().size(); i++) {
            StatsRow x = a.tensors().get(i), y = b.tensors().get(i);
            assertEquals(x.name(), y.name());
            close(x.mean(), y.mean(), x.name());
            close(x.std(), y.std(), x.name());
            close(x.kurtosisExcess(), y.kurtosisExcess(), x.name());
            assertEquals(x.min(), y.min(), 0.0);
        }
        // Roll-ups: the model row counts every analysable element.
        StatsRow model = a.rollups().stream().filter(x -> x.level().equals("model")).findFirst().orElseThrow();
        long expected = a.tensors().stream().filter(x -> !x.role().equals("quantization") && !x.moduleKind().equals("buffer"))
                .mapToLong(StatsRow::elements).sum();
        assertEquals(expected, model.elements());
    }
}
