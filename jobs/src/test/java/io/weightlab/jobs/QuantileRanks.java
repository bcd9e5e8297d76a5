package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.StatsRow;
import org.apache.hadoop.conf.Configuration;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks a stats row's sketched quantiles against the exact ranks of the tensor's (dequantized) values. */
final class QuantileRanks {
    private QuantileRanks() {}

    static void assertWithinRankError(Path checkpoint, JsonNode row) {
        Configuration conf = new Configuration();
        Checkpoint c = CheckpointCatalog.open(conf, checkpoint.toUri().toString());
        TensorInfo t = c.tensor(row.get("key").asText());
        Map<String, Dequantization> dq = Dequantization.pair(c, new int[] {128, 128});
        int n = (int) t.elementCount();
        double[] v = new double[n];
        try (RangeReader r = new RangeReader(conf)) {
            ElementDecoder.decode(t.dtype(), r.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, n, v, 0);
            if (row.get("dequantized").asBoolean()) {
                Dequantization d = dq.get(t.name());
                d.load(r);
                d.apply(v, n, 0, t.rowElements());
            }
        }
        Arrays.sort(v);
        double eps = row.get("quantile_rank_error").asDouble();
        for (int i = 0; i < StatsRow.QUANTILE_NAMES.length; i++) {
            double q = row.get(StatsRow.QUANTILE_NAMES[i]).asDouble();
            double p = StatsRow.QUANTILE_PROBABILITIES[i];
            long below = 0, atOrBelow = 0;
            for (double x : v) {
                if (x < q) below++;
                if (x <= q) atOrBelow++;
            }
            assertTrue(atOrBelow >= (p - eps) * n && below <= (p + eps) * n,
                    t.name() + " " + StatsRow.QUANTILE_NAMES[i] + "=" + q + " has rank outside p +- " + eps);
        }
    }
}
