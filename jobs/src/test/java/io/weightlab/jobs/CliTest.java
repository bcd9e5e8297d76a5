package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI as a user meets it: exit codes, one-line errors, nothing left behind, NaN/Inf reported not fatal. */
public class CliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A float32 file with NaN, +Inf and -Inf among ordinary values. */
    public static Path nanFile(Path dir) throws IOException {
        String header = "{\"model.layers.0.mlp.up_proj.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 32).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (float f : new float[] {1f, Float.NaN, 2f, Float.POSITIVE_INFINITY, 3f, Float.NEGATIVE_INFINITY, 0f, Float.NaN}) b.putFloat(f);
        Path p = dir.resolve("nan.safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void truncatedShardFailsWithOneLineAndLeavesNoOutput(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.dir("all-minilm-l6-v2-q-sharded");
        Path model = Files.createDirectories(tmp.resolve("model"));
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        Path shard = model.resolve("model-00003-of-00004.safetensors");
        byte[] b = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(b, b.length - 1000));
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("stats", model.toString(), "--out", out.toString(), "--master", "local[2]");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("model-00003-of-00004.safetensors") && r.err().contains("MetadataIncompleteBuffer"), r.err());
        assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("weightlab stats: error:")).count(), r.err());
        assertFalse(Files.exists(out), "a failed run must leave no output directory");
    }

    @Test
    void nanAndInfAreReportedNotFatal(@TempDir Path tmp) throws IOException {
        Path f = nanFile(tmp);
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("stats", f.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("hold NaN or Inf"), r.out());
        JsonNode row = JSON.readTree(out.resolve("stats.json").toFile()).get("rows").get(0);
        assertEquals(2, row.get("nan_count").asInt());
        assertEquals(2, row.get("inf_count").asInt());
        assertEquals(4, row.get("finite").asInt());
        assertEquals(1.5, row.get("mean").asDouble(), 0.0);       // (1+2+3+0)/4
        assertEquals(Math.sqrt(1.25), row.get("std").asDouble(), 1e-15);
        assertEquals(0.25, row.get("zero_fraction").asDouble(), 0.0);
        assertTrue(Files.readString(out.resolve("report.html")).contains("NaN values"));
    }

    @Test
    void existingResultIsNotOverwrittenWithoutTheFlag(@TempDir Path tmp) throws IOException {
        Path f = nanFile(tmp);
        Path out = tmp.resolve("out");
        assertEquals(0, Cli.run("stats", f.toString(), "--out", out.toString()).exit());
        byte[] before = Files.readAllBytes(out.resolve("stats.json"));
        Cli.Run again = Cli.run("stats", f.toString(), "--out", out.toString());
        assertEquals(2, again.exit());
        assertTrue(again.err().contains("--overwrite"), again.err());
        assertTrue(Arrays.equals(before, Files.readAllBytes(out.resolve("stats.json"))), "the committed result must be untouched");
        assertEquals(0, Cli.run("stats", f.toString(), "--out", out.toString(), "--overwrite").exit());
    }

    @Test
    void usageErrorsExitWith2(@TempDir Path tmp) throws IOException {
        assertEquals(2, Cli.run("stats").exit());
        assertEquals(2, Cli.run("stats", tmp.resolve("missing").toString()).exit());
        Cli.Run bad = Cli.run("stats", nanFile(tmp).toString(), "--slice-mb", "0");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--slice-mb"), bad.err());
        assertEquals(0, Cli.run("stats", "--help").exit());
    }

    @Test
    void yamlConfigSuppliesDefaultsAndTheCommandLineWins(@TempDir Path tmp) throws IOException {
        Path cfg = tmp.resolve("job.yaml");
        Files.writeString(cfg, "stats:\n  slice-mb: 0\n");
        Path f = nanFile(tmp);
        Cli.Run fromFile = Cli.run("--config", cfg.toString(), "stats", f.toString());
        assertEquals(2, fromFile.exit(), "slice-mb 0 from the YAML file must be used and refused");
        Cli.Run overridden = Cli.run("--config", cfg.toString(), "stats", f.toString(), "--slice-mb", "1");
        assertEquals(0, overridden.exit(), overridden.err());
    }

    @Test
    void inspectListsTensorsAndTotals(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("inspect");
        Cli.Run r = Cli.run("inspect", Fixtures.dir("all-minilm-l6-v2-q-sharded").toString(), "--out", out.toString(), "--format", "json,csv,parquet");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("180 tensors"), r.out());
        JsonNode doc = JSON.readTree(out.resolve("inspect.json").toFile());
        assertEquals(180, doc.get("tensors").size());
        assertEquals(72, doc.get("totals").get("dtype").get("I8").get("tensors").asInt());
        assertEquals(22607366L, doc.get("totals").get("dtype").properties().stream().mapToLong(e -> e.getValue().get("parameters").asLong()).sum());
        assertTrue(Files.isDirectory(out.resolve("inspect.parquet")));
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
    }
}
