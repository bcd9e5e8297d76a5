package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Storage faults through a fault-injecting FileSystem ({@link FaultyFileSystem}, issue #7): reads that return half
 * of what was asked, and an IOException on every 5th read of a stream (retried on a fresh stream), both give the
 * clean run's statistics exactly; a store that fails every read ends the job with an error naming the file and byte
 * range, and no output. A slow, trickling store gives the same numbers; a read that hangs is aborted by the read
 * timeout and retried on a fresh stream (same numbers), and a store where every read hangs ends in a clear error.
 */
public class StorageFaultTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Cli.Run stats(Path in, Path out, String... faults) {
        String[] base = {"stats", "faulty://" + in, "--out", out.toString(), "--slice-mb", "1", "--gg-fit", "moments",
                "--conf", "spark.hadoop.fs.faulty.impl=" + FaultyFileSystem.class.getName(),
                "--conf", "spark.hadoop.fs.faulty.impl.disable.cache=true"};
        String[] args = new String[base.length + 2 * faults.length];
        System.arraycopy(base, 0, args, 0, base.length);
        for (int i = 0; i < faults.length; i++) {
            args[base.length + 2 * i] = "--conf";
            args[base.length + 2 * i + 1] = "spark.hadoop." + faults[i];
        }
        return Cli.run(args);
    }

    @Test
    void shortReadsAndTransientFailuresGiveTheSameNumbersAndPermanentOnesAClearError(@TempDir Path tmp) throws IOException {
        Path in = Fixtures.dir("all-minilm-l6-v2").resolve("model.safetensors");
        Path clean = tmp.resolve("clean"), shortReads = tmp.resolve("short"), failing = tmp.resolve("failing"), dead = tmp.resolve("dead");
        assertEquals(0, Cli.run("stats", in.toString(), "--out", clean.toString(), "--slice-mb", "1", "--gg-fit", "moments").exit());
        long before = FaultyFileSystem.READS.get();
        Cli.Run s = stats(in, shortReads, FaultyFileSystem.SHORT_KEY + "=true", FaultyFileSystem.FAIL_EVERY_KEY + "=0");
        assertEquals(0, s.exit(), s.err());
        assertTrue(FaultyFileSystem.READS.get() - before > 100, "the faults were really in the read path");
        assertSameRows(clean, shortReads);
        Cli.Run f = stats(in, failing, FaultyFileSystem.SHORT_KEY + "=false", FaultyFileSystem.FAIL_EVERY_KEY + "=5");
        assertEquals(0, f.exit(), f.err());
        assertSameRows(clean, failing);

        Cli.Run d = stats(in, dead, FaultyFileSystem.SHORT_KEY + "=false", FaultyFileSystem.FAIL_EVERY_KEY + "=1");
        assertEquals(1, d.exit(), d.err());
        assertTrue(d.err().contains("model.safetensors") && d.err().contains("read of bytes [") && d.err().contains("4 attempt(s)"), d.err());
        assertFalse(Files.exists(dead.resolve("_SUCCESS")));
        // later tests share the Spark session: no faults left behind
        stats(in, tmp.resolve("reset"), FaultyFileSystem.FAIL_EVERY_KEY + "=0", FaultyFileSystem.SHORT_KEY + "=false");
    }

    @Test
    void slowStreamsGiveTheSameNumbersAndHungReadsAreAbortedAndRetried(@TempDir Path tmp) throws IOException {
        Path in = Fixtures.dir("all-minilm-l6-v2").resolve("model.safetensors");
        Path clean = tmp.resolve("clean"), slow = tmp.resolve("slow"), hung = tmp.resolve("hung"), dead = tmp.resolve("dead");
        assertEquals(0, Cli.run("stats", in.toString(), "--out", clean.toString(), "--slice-mb", "1", "--gg-fit", "moments").exit());
        try {
            Cli.Run s = stats(in, slow, FaultyFileSystem.SLOW_KEY + "=2");
            assertEquals(0, s.exit(), s.err());
            assertSameRows(clean, slow);

            // Every 4th read of a stream hangs; 300 ms later the watchdog closes the stream and the read is retried.
            Cli.Run h = stats(in, hung, FaultyFileSystem.SLOW_KEY + "=0", FaultyFileSystem.STALL_EVERY_KEY + "=4",
                    io.weightlab.common.io.RangeReader.TIMEOUT_KEY + "=300");
            assertEquals(0, h.exit(), h.err());
            assertSameRows(clean, hung);

            Cli.Run d = stats(in, dead, FaultyFileSystem.STALL_EVERY_KEY + "=1", io.weightlab.common.io.RangeReader.TIMEOUT_KEY + "=200",
                    io.weightlab.common.io.RangeReader.RETRIES_KEY + "=1");
            assertEquals(1, d.exit(), d.err());
            assertTrue(d.err().contains("model.safetensors") && d.err().contains("stalled for more than 200 ms") && d.err().contains("2 attempt(s)"), d.err());
            assertFalse(Files.exists(dead.resolve("_SUCCESS")));
        } finally {
            stats(in, tmp.resolve("reset"), FaultyFileSystem.SLOW_KEY + "=0", FaultyFileSystem.STALL_EVERY_KEY + "=0",
                    io.weightlab.common.io.RangeReader.TIMEOUT_KEY + "=300000", io.weightlab.common.io.RangeReader.RETRIES_KEY + "=3");
        }
    }

    static void assertSameRows(Path clean, Path faulty) throws IOException {
        JsonNode a = JSON.readTree(clean.resolve("stats.json").toFile()).get("rows");
        JsonNode b = JSON.readTree(faulty.resolve("stats.json").toFile()).get("rows");
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            JsonNode x = a.get(i), y = b.get(i);
            for (var it = x.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (f.equals("path") || f.equals("file")) continue; // the URI scheme differs
                assertEquals(x.get(f), y.get(f), "row " + x.get("name") + " field " + f + ": a retried or short read changed a number");
            }
        }
    }
}
