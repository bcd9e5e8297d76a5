package io.weightlab.common.stats;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every tensor of the real fixtures, cut into many small slices and merged, against reference.json (numpy,
 * float64). Tolerances: mean/std/kurtosis/L2 relative 1e-9 (absolute 1e-12 near zero), min/max exact, counts
 * exact; quantiles equal to the exact inverted-CDF quantile (8/16-bit dtypes) or within the stated relative
 * error 2^-8 + 2^-24 of it (absolute 1e-38 for the zero bucket).
 */
class FixtureStatisticsTest {
    private static final double REL = 1e-9;

    @ParameterizedTest
    @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q", "all-minilm-l6-v2-q-sharded"})
    void everyTensorMatchesTheNumpyReference(String fixture) {
        String refName = fixture.replace("-sharded", "");
        JsonNode ref = Fixtures.reference(refName).get("tensors");
        Checkpoint ckpt = CheckpointCatalog.open(new Configuration(), Fixtures.dir(fixture).toUri().toString());
        assertEquals(ref.size(), ckpt.tensors().size());
        int multiSlice = 0;
        try (RangeReader reader = new RangeReader(new Configuration())) {
            for (TensorInfo t : ckpt.tensors()) {
                JsonNode r = ref.get(t.name());
                assertEquals(r.get("dtype").asText(), t.dtype().name(), t.name());
                // 256 KiB slices: the word embeddings (47 MB) become ~180 slices, merged in a shuffled order.
                List<StatsUnit> units = new java.util.ArrayList<>(StatsUnit.slice(t, 256 << 10, null));
                if (units.size() > 1) multiSlice++;
                java.util.Collections.shuffle(units, new java.util.Random(t.name().hashCode()));
                TensorPartial total = null;
                for (StatsUnit u : units) {
                    TensorPartial p = SliceStatistics.compute(reader, u);
                    total = total == null ? p : total.merge(p);
                }
                MomentAccumulator m = total.moments();
                String n = t.name();
                assertEquals(r.get("count").asLong(), m.count(), n);
                close(r.get("mean").asDouble(), m.mean(), n + " mean");
                close(r.get("std").asDouble(), m.stdPopulation(), n + " std");
                close(r.get("l2_norm").asDouble(), m.l2(), n + " l2");
                assertEquals(r.get("min").asDouble(), m.min(), 0.0, n + " min");
                assertEquals(r.get("max").asDouble(), m.max(), 0.0, n + " max");
                assertEquals(r.get("zero_fraction").asDouble(), (double) m.zeroCount() / m.count(), 1e-15, n + " zero fraction");
                if (r.get("kurtosis_excess").isNull()) assertTrue(Double.isNaN(m.excessKurtosis()), n);
                else close(r.get("kurtosis_excess").asDouble(), m.excessKurtosis(), n + " kurtosis");
                checkQuantiles(reader, t, total.quantiles());
                checkOtherMoments(reader, t, m);
            }
        }
        assertTrue(multiSlice >= 10, "the merge must be exercised: only " + multiSlice + " tensors had several slices");
    }

    static void close(double expected, double actual, String what) {
        double tol = Math.max(REL * Math.abs(expected), 1e-12);
        assertEquals(expected, actual, tol, what);
    }

    /**
     * Statistics reference.json does not hold, against plain two-pass sums over the decoded tensor (independent of
     * the block/Pébay merging): skewness, sample variance, L1, RMS, max|x|, outlier ratio.
     */
    static void checkOtherMoments(RangeReader reader, TensorInfo t, MomentAccumulator m) {
        int n = (int) t.elementCount();
        double[] x = new double[n];
        ElementDecoder.decode(t.dtype(), reader.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, n, x, 0);
        double sum = 0, abs = 0, sq = 0, maxAbs = 0;
        for (double v : x) {
            sum += v;
            abs += Math.abs(v);
            sq += v * v;
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        double mean = sum / n, c2 = 0, c3 = 0;
        for (double v : x) {
            double d = v - mean;
            c2 += d * d;
            c3 += d * d * d;
        }
        String w = t.name();
        close(abs, m.l1(), w + " l1");
        close(Math.sqrt(sq / n), m.rms(), w + " rms");
        assertEquals(maxAbs, m.maxAbs(), 0.0, w + " max|x|");
        if (n > 1) close(c2 / (n - 1), m.varianceSample(), w + " sample variance");
        if (c2 > 0) {
            // third moment: tolerance relative to its scale (m2^1.5), since skewness is near 0 for many tensors
            assertEquals((c3 / n) / Math.pow(c2 / n, 1.5), m.skewness(), 1e-8, w + " skewness");
            close(maxAbs / Math.sqrt(c2 / n), m.maxAbs() / m.stdPopulation(), w + " outlier ratio");
        }
    }

    /** The exact inverted-CDF quantile from the sorted tensor: sorted[ceil(p*n) - 1]. */
    static void checkQuantiles(RangeReader reader, TensorInfo t, QuantileSummary qs) {
        int n = (int) t.elementCount();
        double[] all = new double[n];
        ElementDecoder.decode(t.dtype(), reader.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, n, all, 0);
        Arrays.sort(all);
        double[] q = qs.quantiles(StatsRow.QUANTILE_PROBABILITIES);
        double rel = qs.relativeError();
        for (int i = 0; i < q.length; i++) {
            double p = StatsRow.QUANTILE_PROBABILITIES[i];
            double exact = all[Math.max(0, (int) Math.ceil(p * n - 1e-9) - 1)];
            String what = t.name() + " q" + p;
            if (rel == 0) assertEquals(exact == 0.0 ? 0.0 : exact, q[i], 0.0, what);
            else assertEquals(exact, q[i], rel * Math.abs(exact) + 1e-38, what);
        }
    }
}
