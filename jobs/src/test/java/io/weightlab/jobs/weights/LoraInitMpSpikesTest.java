package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code lora-init --rank-by mp-spikes} (issue #20) on all-MiniLM-L6-v2: every module's rank is numpy's count of
 * eigenvalues above the MP edge + Tracy–Widom margin (rmt_reference.py, scipy's MP median), at least 1; under the
 * default budget r × modules the ranks sum to the budget and none grows.
 */
public class LoraInitMpSpikesTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void ranksAreNumpysSpikeCountsWithinTheBudget(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "scipy", "safetensors");
        Path base = Fixtures.dir("all-minilm-l6-v2");
        Path spec = tmp.resolve("spectrum");
        assertEquals(0, Cli.run("spectrum", base.toString(), "--out", spec.toString(), "--no-powerlaw").exit());
        String weights = base.resolve("model.safetensors").toString();

        Path free = tmp.resolve("free");
        Cli.Run r = Cli.run("lora-init", base.toString(), "--out", free.toString(), "--method", "pissa", "--r", "8",
                "--target-modules", "query,value", "--rank-by", "mp-spikes", "--spectrum", spec.toString(), "--rank-budget", "100000");
        assertEquals(0, r.exit(), r.err());
        JsonNode f = JSON.readTree(Python.script(Python.testScript("rmt_reference.py"), "lora-ranks", weights, free.toString()));
        assertEquals(12, f.get("written").size());
        assertEquals(f.get("expected"), f.get("written"), "max(1, #λ above the MP edge + TW margin), numpy SVD, per module");
        int spikes = 0;
        for (JsonNode v : f.get("written")) spikes += v.asInt();
        assertTrue(spikes > 8 * 12, "the test needs the budget to bind: " + spikes);

        Path tight = tmp.resolve("tight");
        r = Cli.run("lora-init", base.toString(), "--out", tight.toString(), "--method", "pissa", "--r", "8",
                "--target-modules", "query,value", "--rank-by", "mp-spikes", "--spectrum", spec.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode t = JSON.readTree(Python.script(Python.testScript("rmt_reference.py"), "lora-ranks", weights, tight.toString()));
        int sum = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = t.get("written").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            sum += e.getValue().asInt();
            assertTrue(e.getValue().asInt() >= 1 && e.getValue().asInt() <= f.get("written").get(e.getKey()).asInt(), e.toString());
        }
        assertEquals(8 * 12, sum, "the default budget is r x modules");

        Cli.Run bad = Cli.run("lora-init", base.toString(), "--out", tmp.resolve("bad").toString(), "--rank-by", "mp-spike", "--spectrum", spec.toString());
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("mp-spikes"), bad.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
    }
}
