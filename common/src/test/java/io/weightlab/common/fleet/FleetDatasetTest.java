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
        FleetDataset d = FleetDataset.begin(CONF, out, FleetDataset.Mode.CREATE, "r1");
        stage(d, a1, "a1");
        stage(d, b1, "b1");
        d.commit(a1, HivePartitions.dir("a", 100L));
        d.commit(b1, HivePartitions.dir("b", null));
        d.finish("r1", Map.of("job", "stats"));
        assertEquals(List.of("model=a/step=100/" + a1.fileName(), "model=b/step=__HIVE_DEFAULT_PARTITION__/" + b1.fileName()), files(tmp.resolve("ds")));
        assertFalse(Files.exists(tmp.resolve("ds/_temporary")));
        assertTrue(Files.exists(tmp.resolve("ds/_fleet/runs/r1.json")));
        assertTrue(Files.exists(tmp.resolve("ds/_SUCCESS")));

        UsageException again = assertThrows(UsageException.class, () -> FleetDataset.begin(CONF, out, FleetDataset.Mode.CREATE, "r2"));
        assertTrue(again.getMessage().contains("--append"), again.getMessage());

        // a rewritten a (new identity): not current; its commit replaces the old file; b unchanged and current
        CheckpointIdentity a2 = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "2222222222222222");
        FleetDataset e = FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r2");
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
        FleetDataset f = FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r3");
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
        FleetDataset d = FleetDataset.begin(CONF, out, FleetDataset.Mode.APPEND, "r");
        assertFalse(Files.exists(tmp.resolve("ds/_temporary/dead")), "a dead run's staging is cleared");
        assertTrue(d.isCurrent(a2), "the current identity is committed: nothing to analyse");
        assertEquals(List.of("model=a/step=1/" + a2.fileName()), files(tmp.resolve("ds")), "the superseded file is removed");
        d.abort();
        assertTrue(Files.exists(part.resolve(a2.fileName())), "abort never touches committed checkpoints");
    }

    @Test
    void refusesADirectoryThatIsNoFleetDataset(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("notes.txt"), "x");
        assertThrows(UsageException.class, () -> FleetDataset.begin(CONF, tmp.toString(), FleetDataset.Mode.APPEND, "r"));
        CheckpointIdentity a = new CheckpointIdentity("aaaaaaaaaaaaaaaa", "1111111111111111");
        FleetDataset d = FleetDataset.begin(CONF, tmp.resolve("new").toString(), FleetDataset.Mode.CREATE, "r");
        d.abort();
        assertFalse(Files.exists(tmp.resolve("new")), "a created dataset with nothing committed is removed on abort");
        assertEquals("part-aaaaaaaaaaaaaaaa-1111111111111111.zstd.parquet", a.fileName());
        // --append into a missing directory creates the dataset (a scheduled job always passes --append)
        FleetDataset first = FleetDataset.begin(CONF, tmp.resolve("fresh").toString(), FleetDataset.Mode.APPEND, "r");
        stage(first, a, "a");
        first.commit(a, HivePartitions.dir("a", 1L));
        first.finish("r", Map.of());
        assertEquals(List.of("model=a/step=1/" + a.fileName()), files(tmp.resolve("fresh")));
    }
}
