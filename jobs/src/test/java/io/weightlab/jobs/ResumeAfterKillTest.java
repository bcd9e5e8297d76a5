package io.weightlab.jobs;

import io.weightlab.jobs.federated.FedAvgJobTest;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resume after a killed driver (issue #7), for every job that writes weights: the job runs in its own JVM and is
 * killed (SIGKILL) once some of its per-tensor results are complete; {@code --resume} takes its staging over, keeps
 * those results untouched (same modification time), computes the rest, and commits the same bytes as an
 * undisturbed run. (That a different resume key does not take a staging over is StagedOutputTest's.)
 */
public class ResumeAfterKillTest {
    static final String[] RESCALE = {"--apply", "*=tvr:target_std=0.02", "--max-shard-size", "1MB", "--seed", "3"};

    @Test
    void aKilledRescaleResumesFromItsCompletedShards(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2").toString();
        Path clean = tmp.resolve("clean"), killed = tmp.resolve("killed");
        assertEquals(0, Cli.run(args(List.of("rescale", fixture, "--out", clean.toString()), RESCALE)).exit());

        List<Path> markers = KilledDriver.killAt(killed, tmp.resolve("killed.log"), ".safetensors", 5,
                List.of(args(List.of("rescale", fixture, "--out", killed.toString(), "--resume"), RESCALE)));
        Path keptShard = KilledDriver.fileOf(markers.get(0));
        FileTime before = Files.getLastModifiedTime(keptShard);

        Cli.Run resumed = Cli.run(args(List.of("rescale", fixture, "--out", killed.toString(), "--resume"), RESCALE));
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.out().contains("resuming"), resumed.out());
        assertFalse(Files.exists(killed.resolve(StagedOutput.TEMPORARY)));
        assertEquals(before, Files.getLastModifiedTime(killed.resolve(keptShard.getFileName())), "a shard the killed run completed was kept, not rewritten");
        assertTrue(KilledDriver.assertSameFiles(clean, killed, ".safetensors", ".index.json") > 5);
    }

    @Test
    void aKilledLoraInitKeepsItsFactorsAndResidualShards(@TempDir Path tmp) throws Exception {
        String fixture = Fixtures.dir("all-minilm-l6-v2").toString();
        String[] job = {"--method", "pissa", "--r", "8", "--alpha", "16", "--target-modules", "all-linear", "--max-shard-size", "1MB"};
        Path clean = tmp.resolve("clean"), killed = tmp.resolve("killed");
        Cli.Run c = Cli.run(args(List.of("lora-init", fixture, "--out", clean.toString()), job));
        assertEquals(0, c.exit(), c.err());

        // Killed while the residual is written: every module has been factored, some residual shards are complete.
        List<Path> markers = KilledDriver.killAt(killed, tmp.resolve("killed.log"), ".safetensors", 3,
                List.of(args(List.of("lora-init", fixture, "--out", killed.toString(), "--resume"), job)));
        Path keptShard = KilledDriver.fileOf(markers.get(0));
        FileTime before = Files.getLastModifiedTime(keptShard);
        int factored = KilledDriver.markers(killed, ".f32").size();
        assertTrue(factored > 0, "the killed run factored modules");

        Cli.Run resumed = Cli.run(args(List.of("lora-init", fixture, "--out", killed.toString(), "--resume"), job));
        assertEquals(0, resumed.exit(), resumed.err());
        assertKept(resumed.out(), factored, "module(s)");
        assertTrue(resumed.out().contains("[writer] resuming"), "residual shards kept:\n" + resumed.out());
        assertFalse(Files.exists(killed.resolve(StagedOutput.TEMPORARY)));
        assertEquals(before, Files.getLastModifiedTime(killed.resolve("residual").resolve(keptShard.getFileName())),
                "a residual shard the killed run completed was kept, not rewritten");
        assertTrue(KilledDriver.assertSameFiles(clean, killed, ".safetensors", ".index.json") > 3);

    }

    @Test
    void aKilledFedAvgRoundKeepsItsAggregatedSlices(@TempDir Path tmp) throws Exception {
        io.weightlab.common.testing.Python.require("numpy", "safetensors");
        Path clients = FedAvgJobTest.clients(tmp.resolve("clients"), 4);
        String manifest = clients.resolve("manifest.json").toString();
        String[] job = {"--memory-budget", "512KiB", "--max-shard-size", "2MB", "--method", "fedavg"};
        Path clean = tmp.resolve("clean"), killed = tmp.resolve("killed");
        Cli.Run c = Cli.run(args(List.of("fedavg", "--manifest", manifest, "--out", clean.toString()), job));
        assertEquals(0, c.exit(), c.err());

        // Killed in pass 2: some slices of the aggregate are complete.
        // A plain FedAvg round keeps its slices encoded in the output dtype (F32 here): the writer copies them.
        KilledDriver.killAt(killed, tmp.resolve("killed.log"), ".f32", 40,
                List.of(args(List.of("fedavg", "--manifest", manifest, "--out", killed.toString(), "--resume"), job)));
        int done = KilledDriver.markers(killed, ".f32").size();

        Cli.Run resumed = Cli.run(args(List.of("fedavg", "--manifest", manifest, "--out", killed.toString(), "--resume"), job));
        assertEquals(0, resumed.exit(), resumed.err());
        assertKept(resumed.out(), done, "slice(s)");
        assertFalse(Files.exists(killed.resolve(StagedOutput.TEMPORARY)));
        assertTrue(KilledDriver.assertSameFiles(clean.resolve("model"), killed.resolve("model"), ".safetensors", ".index.json") > 1);
    }

    /** "resuming: N of M what": N is what the killed run marked, less at most one marker it was writing when killed (local[1]). */
    static void assertKept(String console, int marked, String what) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("resuming: (\\d+) of (\\d+) " + java.util.regex.Pattern.quote(what)).matcher(console);
        assertTrue(m.find(), "nothing kept:\n" + console);
        int kept = Integer.parseInt(m.group(1));
        assertTrue(kept > 0 && kept <= marked && kept >= marked - 1, kept + " kept of " + marked + " marked:\n" + console);
    }

    static String[] args(List<String> head, String... tail) {
        List<String> a = new ArrayList<>(head);
        a.addAll(List.of(tail));
        return a.toArray(String[]::new);
    }
}
