package io.weightlab.jobs.federated;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code fedavg --method krum | multi-krum | bulyan | rfa} on 7 small clients (fed_small.py) of which one is a far
 * attacker (every coordinate +100·k): the model equals numpy's port of Flower's aggregate_krum / aggregate_bulyan
 * and RFA's geometric_median_update on the same clients (to one float32 ulp), stays with the honest clients where the
 * weighted mean does not, and the report names who was chosen (RFA: the attacker's Weiszfeld weight is tiny).
 */
class FedRobustJobTest {
    @Test
    void robustMethodsMatchNumpyAndResistAFarAttacker(@TempDir Path tmp) throws IOException {
        FedDpJobTest.python();
        Path c = tmp.resolve("clients");
        FedDpJobTest.small("make", c.toString(), "11", "0.5,0.6,0.7,0.8,0.9,1.0,1.1", "c6");
        String[][] runs = {
                {"krum", "krum:num_malicious_clients=1", "1", "0"},
                {"krum", "multi-krum:num_malicious_clients=1,num_clients_to_keep=3", "1", "3"},
                {"bulyan", "bulyan:num_malicious_clients=1", "1", "0"},
                // RFA's default 4 Weiszfeld steps from the weighted mean leave ~1.6% of an attacker 100x away (numpy agrees)
                {"rfa", "rfa:maxiter=50", "0", "50"},
        };
        for (String[] r : runs) {
            Path out = tmp.resolve(r[1].replaceAll("[^a-z]", ""));
            Cli.Run run = Cli.run("fedavg", c.resolve("manifest.json").toString(), "--out", out.toString(), "--method", r[1]);
            assertEquals(0, run.exit(), r[1] + ": " + run.err());
            JsonNode s = FedDpJobTest.small("robust", c.toString(), out.toString(), r[0], r[2], r[3]);
            assertTrue(s.get("max_abs_diff").asDouble() <= s.get("ulp").asDouble(), r[1] + " vs numpy, one float32 ulp: " + s);
            // honest updates have norm ≤ 1.1 over 30150 coordinates (≈ 0.006 each, 5 sd ≈ 0.03); the attacker sits at +700
            assertTrue(s.get("off_honest").asDouble() < 0.1, r[1] + " stays with the honest clients: " + s);
            assertTrue(s.get("mean_off_honest").asDouble() > 100, "the weighted mean does not: " + s);
            JsonNode report = FedDpJobTest.JSON.readTree(out.resolve(FedAvgJob.REPORT).toFile());
            assertTrue(report.get("run").has("selection"), r[1] + ": " + report.get("run"));
            if (r[0].equals("rfa")) {
                double w6 = report.get("run").get("selection").get("weights").get("c6").asDouble();
                assertTrue(w6 < 1e-3, "the geometric median's weight of the attacker c6: " + w6);
            } else {
                assertEquals("not_selected", report.get("clients").get(6).get("status").asText(), r[1] + ": the attacker c6 is not chosen");
            }
        }
    }
}
