package io.weightlab.common.fleet;

import io.weightlab.common.error.UsageException;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dataset's commit protocol on the local file system: one file per checkpoint, replaced by identity, pruned on request. */
class FleetDatasetTest {
    static final Configuration CONF = new Configuration();

    static void stage(FleetDataset d, CheckpointIdentity id, String text) throws IOException {
        Path f = Path.of(d.stagingFile(id).toUri());
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
    }

    static List<String> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).filter(p -> !p.startsWith("_")).sorted().toList();
        }
    }

    @Test
    void commitsReplacesByIdentityAndPrunesOnlyWhenAsked(@TempDir Path tmp) throws IOException {
        String out = tmp.resolve("ds").toString();
        CheckpointIdentity a1 = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "1111111111111111");
        CheckpointIdentity b1 = new CheckpointIdentity("bbbbbbbbbbbbbbbb", "1111111111111111");
        FleetDataset d = FleetDataset.begin(CONF, out, FleetDataset.Mode.CREATE, "r1", "stats");
        stage(d, a1, "a1");
        stage(d, b1, "b1");
        d.commit(a1, HivePartitions.dir("a", 100L));
        d.commit(b1, HivePartitions.dir("b", null));
        d.finish("r1", Map.of("job", "stats"));
        assertEquals(List.of("model=a/step=100/" + a1.fileName(), "model=b/step=__HIVE_DEFAULT_PARTITION__/" + b1.fileName()), files(tmp.resolve("ds")));
        assertFalse(Files.exists(tmp.resolve("ds/_temporary")));
        assertTrue(Files.exists(tmp.resolve("ds/_fleet/runs/r1.json")));
        assertTrue(Files.exists(tmp.resolve("ds/_SUCCESS")));

        UsageException again = assertThrows(UsageException.class, () -> FleetDataset.begin(CONF, out, FleetDataset.Mode.CREATE, "r2", "stats"));
        assertTrue(again.getMessage().contains("--append"), again.getMessage());

        // a rewritten a (new identity): not current; its commit replaces the old file; b unchanged and current
        CheckpointIdentity a2 = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "2222222222222222");
        FleetDataset e = FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r2", "stats");
        assertFalse(e.isCurrent(a2));
        assertTrue(e.isCurrent(b1));
        stage(e, a2, "a2");
        e.commit(a2, HivePartitions.dir("a", 100L));
        assertEquals(List.of(), e.notIn(Set.of(a2.key(), b1.key())));
        assertEquals(1, e.notIn(Set.of(a2.key())).size(), "b is not among these inputs");
        e.finish("r2", Map.of());
        assertEquals(List.of("model=a/step=100/" + a2.fileName(), "model=b/step=__HIVE_DEFAULT_PARTITION__/" + b1.fileName()), files(tmp.resolve("ds")));
        assertEquals("a2", Files.readString(tmp.resolve("ds/model=a/step=100/" + a2.fileName())));

        // b leaves the inputs: kept unless pruned; pruning removes its empty partition directories too
        FleetDataset f = FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r3", "stats");
        f.remove(f.notIn(Set.of(a2.key())));
        f.finish("r3", Map.of());
        assertEquals(List.of("model=a/step=100/" + a2.fileName()), files(tmp.resolve("ds")));
        assertFalse(Files.exists(tmp.resolve("ds/model=b")));
    }

    @Test
    void aRunKilledBetweenCommitAndCleanupIsRepairedByTheNext(@TempDir Path tmp) throws IOException {
        String out = tmp.resolve("ds").toString();
        CheckpointIdentity a1 = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "1111111111111111");
        CheckpointIdentity a2 = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "2222222222222222");
        Path part = tmp.resolve("ds/model=a/step=1");
        Files.createDirectories(part);
        Files.createDirectories(tmp.resolve("ds/_fleet/runs"));
        Files.writeString(part.resolve(a1.fileName()), "old");
        Files.writeString(part.resolve(a2.fileName()), "new"); // renamed in, then the driver died
        Files.createDirectories(tmp.resolve("ds/_temporary/dead"));
        Files.writeString(tmp.resolve("ds/_temporary/dead/" + a1.fileName()), "half");
        FleetDataset d = FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r", "stats");
        assertFalse(Files.exists(tmp.resolve("ds/_temporary/dead")), "a dead run's staging is cleared");
        assertTrue(d.isCurrent(a2), "the current identity is committed: nothing to analyse");
        assertEquals(List.of("model=a/step=1/" + a2.fileName()), files(tmp.resolve("ds")), "the superseded file is removed");
        d.abort();
        assertTrue(Files.exists(part.resolve(a2.fileName())), "abort never touches committed checkpoints");
    }

    @Test
    void refusesADirectoryThatIsNoFleetDataset(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("notes.txt"), "x");
        assertThrows(UsageException.class, () -> FleetDataset.begin(CONF, tmp.toString(), FleetDataset.Mode.APPEND, "r", "stats"));
        CheckpointIdentity a = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "1111111111111111");
        FleetDataset d = FleetDataset.begin(CONF, tmp.resolve("new").toString(), FleetDataset.Mode.CREATE, "r", "stats");
        d.abort();
        assertFalse(Files.exists(tmp.resolve("new")), "a created dataset with nothing committed is removed on abort");
        assertEquals("part-aaaaaaaaaaaaaaaa-1111111111111111.zstd.parquet", a.fileName());
        // --append into a missing directory creates the dataset (a scheduled job always passes --append)
        FleetDataset first = FleetDataset.begin(CONF, tmp.resolve("fresh").toString(), FleetDataset.Mode.APPEND, "r", "stats");
        stage(first, a, "a");
        first.commit(a, HivePartitions.dir("a", 1L));
        first.finish("r", Map.of());
        assertEquals(List.of("model=a/step=1/" + a.fileName()), files(tmp.resolve("fresh")));
    }

    @Test
    void refusesAnotherJobsDatasetInEveryMode(@TempDir Path tmp) throws IOException {
        String out = tmp.resolve("ds").toString();
        CheckpointIdentity a = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "1111111111111111");
        FleetDataset d = FleetDataset.begin(CONF, out, FleetDataset.Mode.CREATE, "r1", "stats");
        assertEquals("stats\n", Files.readString(tmp.resolve("ds/_fleet/job")), "the job is named before any row is committed");
        stage(d, a, "a");
        d.commit(a, HivePartitions.dir("a", 1L));
        d.finish("r1", Map.of("job", "stats"));
        for (FleetDataset.Mode m : FleetDataset.Mode.values()) {
            UsageException e = assertThrows(UsageException.class, () -> FleetDataset.begin(CONF, out, m, "r2", "spectrum"), m.name());
            assertTrue(e.getMessage().contains("holds a `stats` fleet dataset") && e.getMessage().contains("`spectrum` run"), e.getMessage());
        }
        assertEquals(List.of("model=a/step=1/" + a.fileName()), files(tmp.resolve("ds")), "a refused run touches nothing");
        assertFalse(Files.exists(tmp.resolve("ds/_temporary/r2")));
        FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r3", "stats").abort(); // the same job is welcome
    }

    @Test
    void aDatasetWithoutItsJobFileIsKnownByItsLatestRunRecord(@TempDir Path tmp) throws IOException {
        Path ds = Files.createDirectories(tmp.resolve("ds/_fleet/runs"));
        Files.writeString(ds.resolve("20261201T000000Z-aaaa.json"), "{\"job\": \"stats\"}");
        Files.writeString(ds.resolve("20261202T000000Z-bbbb.json"), "{\"job\": \"spectrum\"}");
        UsageException e = assertThrows(UsageException.class, () -> FleetDataset.begin(CONF, tmp.resolve("ds").toString(), FleetDataset.Mode.APPEND, "r", "stats"));
        assertTrue(e.getMessage().contains("holds a `spectrum` fleet dataset"), e.getMessage());
        FleetDataset.begin(CONF, tmp.resolve("ds").toString(), FleetDataset.Mode.APPEND, "r", "spectrum").abort();
        assertEquals("spectrum\n", Files.readString(tmp.resolve("ds/_fleet/job")), "named from then on");
    }
}
