package io.weightlab.common.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the report derives from job outputs: the ESD histogram (against numpy), the anomaly rule, the compare axis. */
class ReportDataTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void esdHistogramIsNumpysHistogramOfLog10Eigenvalues(@TempDir Path tmp) throws IOException {
        Python.require("numpy");
        Random rnd = new Random(7);
        double[] sv = new double[500];
        for (int i = 0; i < sv.length; i++) sv[i] = Math.exp(rnd.nextGaussian()) * (i < 3 ? 0 : 1); // three exact zeros
        double xmin = 2.5;
        Path in = tmp.resolve("sv.json");
        JSON.writeValue(in.toFile(), Map.of("sv", sv, "xmin", xmin, "bins", ReportData.ESD_BINS));
        JsonNode ref = JSON.readTree(Python.script(Python.testScript("report_esd_check.py"), in.toString()));
        Map<String, Object> ours = ReportData.esd(sv, xmin);
        long[] counts = (long[]) ours.get("counts");
        long[] expected = new long[counts.length];
        for (int i = 0; i < expected.length; i++) expected[i] = ref.get("counts").get(i).asLong();
        assertArrayEquals(expected, counts, "bin counts");
        assertEquals(ref.get("lo").asDouble(), (Double) ours.get("lo"), 1e-5 * Math.abs(ref.get("lo").asDouble()), "first edge (6 digits on the page)");
        assertEquals(ref.get("width").asDouble(), (Double) ours.get("width"), 1e-5 * ref.get("width").asDouble(), "bin width");
        assertEquals(ref.get("tail").asLong(), (long) ours.get("tail"), "eigenvalues >= xmin");
        assertEquals(3, (int) ours.get("zeros"));
    }

    @Test
    void heavyTailsAreAMatrixRuleNotAVectorOne() {
        StatsRow vector = row(List.of(384L), 384, 120), matrix = row(List.of(384L, 1536L), 384 * 1536, 120), mild = row(List.of(384L, 1536L), 384 * 1536, 3);
        assertEquals("", ReportData.anomaly(vector), "a norm vector with kurtosis 120");
        assertTrue(ReportData.anomaly(matrix).startsWith("heavy tails (excess kurtosis 120"), ReportData.anomaly(matrix));
        assertEquals("", ReportData.anomaly(mild));
    }

    @Test
    void aSeriesOfStepsGetsANumericAxisOtherCheckpointsDoNot() {
        assertEquals(List.of(100L, 300L), CompareReport.steps(List.of("/runs/a/checkpoint-100", "/runs/a/checkpoint-300/")));
        assertEquals(List.of(1L, 2L), CompareReport.steps(List.of("s3a://b/run7/step_1", "s3a://b/run7/step_2")));
        assertNull(CompareReport.steps(List.of("/m/base", "/m/tvr")), "no numbers");
        assertNull(CompareReport.steps(List.of("/m/llama-7b", "/n/llama-7b")), "the same number twice");
        assertNull(CompareReport.steps(List.of("/m/checkpoint-100")), "one checkpoint is no series");
    }

    @Test
    void aOneBillionShapePageStaysUnderFiveMegabytes() {
        // Llama-3.2-1B's shape: 16 blocks of 7 matrices (hidden 2048, FFN 8192, 8 KV heads of 64) and 2 norms, a 128256-row embedding
        List<StatsRow> tensors = new java.util.ArrayList<>();
        List<Map<String, Object>> matrices = new java.util.ArrayList<>();
        Map<String, double[]> svs = new java.util.HashMap<>();
        Random rnd = new Random(1);
        String[][] kinds = {{"q_proj", "2048", "2048"}, {"k_proj", "512", "2048"}, {"v_proj", "512", "2048"}, {"o_proj", "2048", "2048"},
                {"gate_proj", "8192", "2048"}, {"up_proj", "8192", "2048"}, {"down_proj", "2048", "8192"}};
        for (int l = 0; l < 16; l++) {
            for (String[] k : kinds) {
                long rows = Long.parseLong(k[1]), cols = Long.parseLong(k[2]);
                String name = "model.layers." + l + "." + k[0] + ".weight";
                tensors.add(named(row(List.of(rows, cols), rows * cols, 3 + rnd.nextDouble()), name, l, k[0]));
                double[] sv = new double[(int) Math.min(rows, cols)];
                for (int i = 0; i < sv.length; i++) sv[i] = Math.exp(rnd.nextGaussian());
                svs.put(name, sv);
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("name", name); m.put("module_kind", k[0]); m.put("layer", l); m.put("status", "ok");
                m.put("N", Math.max(rows, cols)); m.put("M", Math.min(rows, cols));
                for (String c : ReportData.SPECTRUM_COLUMNS) if (!m.containsKey(c)) m.put(c, rnd.nextDouble() * 5);
                m.put("xmin", 3.0);
                matrices.add(m);
            }
            tensors.add(named(row(List.of(2048L), 2048, 1), "model.layers." + l + ".input_layernorm.weight", l, "norm"));
            tensors.add(named(row(List.of(2048L), 2048, 1), "model.layers." + l + ".post_attention_layernorm.weight", l, "norm"));
        }
        tensors.add(named(row(List.of(128256L, 2048L), 128256L * 2048, 2), "model.embed_tokens.weight", null, "embedding"));
        String html = AnalysisReport.render(Map.of("input", "synth-1b"), tensors, List.of(), null, matrices, svs);
        int bytes = html.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        System.out.println("1B-shape stats + spectrum page: " + bytes + " bytes");
        assertTrue(bytes < 5_000_000, "1B-shape page: " + bytes + " bytes");
        assertTrue(bytes > 1_000_000, "ECharts is inlined: " + bytes + " bytes");
    }

    static StatsRow named(StatsRow r, String name, Integer layer, String kind) {
        return new StatsRow(r.level(), name, r.dtype(), r.shape(), r.tensors(), r.elements(), r.finite(), r.stack(), layer, kind, r.role(),
                r.dequantized(), r.mean(), r.std(), r.stdSample(), r.variance(), r.varianceSample(), r.skewness(), r.kurtosisExcess(),
                r.min(), r.max(), r.maxAbs(), r.l1(), r.l2(), r.rms(), r.zeroFraction(), r.nanCount(), r.infCount(), r.outlierRatio(),
                r.quantiles(), r.quantileRelativeError(), r.gg());
    }

    static StatsRow row(List<Long> shape, long n, double kurtosis) {
        return new StatsRow("tensor", "t", "F32", shape, 1, n, n, null, 0, "mlp_up", "weight", false,
                0, 0.02, 0.02, 4e-4, 4e-4, 0, kurtosis, -1, 1, 1, 1, 1, 0.02, 0, 0, 0, 50,
                new double[7], 0, null);
    }

    @Test
    void sixDigitRoundingIsExactlyWhatPercentSixGPrints() {
        // the fast path must agree with String.format's HALF_UP on the shortest decimal, ties and extremes included
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        int mismatches = 0;
        for (int i = 0; i < 200_000; i++) {
            double v = switch (i % 5) {
                case 0 -> (r.nextDouble() - 0.5) * Math.pow(10, r.nextInt(-30, 30));
                case 1 -> Math.round((r.nextDouble() - 0.5) * 1e4) / 1e3;          // short decimals
                case 2 -> (r.nextInt(-2_000_000, 2_000_000) + 0.5) / Math.pow(10, r.nextInt(0, 8)); // seventh-digit ties
                case 3 -> (r.nextDouble() - 0.5) * Math.pow(10, r.nextInt(-320, 308)); // outside the exact powers
                default -> Math.pow(10, r.nextInt(-20, 20)) * (1 + r.nextInt(-3, 4) * 1e-16); // next to powers of ten
            };
            if (v == 0 || !Double.isFinite(v)) continue;
            double expected = Double.parseDouble(String.format(java.util.Locale.ROOT, "%.6g", v));
            if (Double.compare(expected, ReportData.num(v)) != 0) mismatches++;
        }
        assertEquals(0, mismatches);
        assertNull(ReportData.num(Double.NaN));
        assertEquals(0.0, ReportData.num(-0.0));
    }
}
