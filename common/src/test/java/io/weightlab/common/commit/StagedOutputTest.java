package io.weightlab.common.commit;

import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.SafetensorsLayout;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StagedOutputTest {
    @Test
    void nothingVisibleBeforeCommitAndAReplacedResultLeavesNoStaleFiles(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        StagedOutput a = StagedOutput.begin(new Configuration(), out.toUri().toString(), false);
        a.writeString("old.json", "1");
        a.writeString("both.json", "old");
        assertFalse(Files.exists(out.resolve("old.json")) || Files.exists(out.resolve(StagedOutput.SUCCESS)), "visible before commit");
        a.commit();
        assertEquals("old", Files.readString(out.resolve("both.json")));

        assertThrows(UsageException.class, () -> StagedOutput.begin(new Configuration(), out.toUri().toString(), false));
        StagedOutput b = StagedOutput.begin(new Configuration(), out.toUri().toString(), true);
        b.writeString("both.json", "new");
        assertEquals("old", Files.readString(out.resolve("both.json")), "the old result stays until commit");
        b.commit();
        assertEquals("new", Files.readString(out.resolve("both.json")));
        assertFalse(Files.exists(out.resolve("old.json")), "files of the replaced result are gone");
        assertTrue(Files.exists(out.resolve(StagedOutput.SUCCESS)));
        assertFalse(Files.exists(out.resolve(StagedOutput.TEMPORARY)), "no staging or previous result left");
    }

    @Test
    void abortLeavesAPreviousResultUntouched(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        StagedOutput a = StagedOutput.begin(new Configuration(), out.toUri().toString(), false);
        a.writeString("r.json", "kept");
        a.commit();
        StagedOutput b = StagedOutput.begin(new Configuration(), out.toUri().toString(), true);
        b.writeString("r.json", "lost");
        b.abort();
        assertEquals("kept", Files.readString(out.resolve("r.json")));
        assertTrue(Files.exists(out.resolve(StagedOutput.SUCCESS)));
        assertFalse(Files.exists(out.resolve(StagedOutput.TEMPORARY)));
    }

    @Test
    void aDeadRunIsTakenOverOnlyWithItsKeyKeepingOnlyWhatItMarkedComplete(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        String out = dir.resolve("out").toUri().toString();
        StagedOutput dead = StagedOutput.begin(conf, out, false, "key-A");
        dead.writeString("done.bin", "finished");
        dead.writeString("half.bin", "partial");
        try (var os = dead.fileSystem().create(dead.scratch("slice.f64"))) { os.write(new byte[16]); }
        CompletionMarker.write(conf, dead.completionMarker("done.bin").toString(), "result of done", "done.bin");
        CompletionMarker.write(conf, dead.completionMarker(StagedOutput.SCRATCH + "slice.f64").toString(), 42L, "slice");
        // ... and the driver dies: no commit, no abort.

        StagedOutput other = StagedOutput.begin(conf, out, false, "key-B");
        assertFalse(other.isResumed(), "another key is another job");
        assertEquals(null, CompletionMarker.read(other, "done.bin", String.class, -1));
        other.abort();

        StagedOutput taken = StagedOutput.begin(conf, out, false, "key-A");
        assertTrue(taken.isResumed());
        assertEquals("result of done", CompletionMarker.read(taken, "done.bin", String.class, -1));
        assertEquals(42L, CompletionMarker.read(taken, StagedOutput.SCRATCH + "slice.f64", Long.class, 16));
        assertEquals(null, CompletionMarker.read(taken, StagedOutput.SCRATCH + "slice.f64", Long.class, 8), "a file of the wrong length is redone");
        assertEquals(null, CompletionMarker.read(taken, StagedOutput.SCRATCH + "slice.f64", String.class, -1), "a marker of another type is redone");
        assertEquals(null, CompletionMarker.read(taken, "half.bin", String.class, -1), "an unmarked file is not complete");
        assertFalse(Files.exists(java.nio.file.Paths.get(taken.stagedFile("half.bin").toUri())), "unmarked files of the dead run are deleted");
        assertEquals("finished", Files.readString(java.nio.file.Paths.get(taken.stagedFile("done.bin").toUri())));
        taken.staged("done.bin");
        taken.commit();
        assertEquals("finished", Files.readString(dir.resolve("out/done.bin")));
        assertFalse(Files.exists(dir.resolve("out/half.bin")));
        assertFalse(Files.exists(dir.resolve("out").resolve(StagedOutput.TEMPORARY)));
    }

    @Test
    void theResumeKeyChangesWithAnInputFileRewrittenInPlace(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        Path f = dir.resolve("m.safetensors");
        Checkpoint c = new Checkpoint(dir.toString(), java.util.List.of(new Checkpoint.Shard(f.toUri().toString(), 8, 0, java.util.Map.of())), java.util.List.of());
        Files.write(f, new byte[8]);
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(1_000_000));
        String k1 = ResumeKey.of(conf, "job").checkpoint(c).add("opt").hash();
        assertEquals(k1, ResumeKey.of(conf, "job").checkpoint(c).add("opt").hash(), "a key is a function of its inputs");
        assertFalse(k1.equals(ResumeKey.of(conf, "job").checkpoint(c).add("other").hash()), "options are part of the key");
        Files.write(f, new byte[8]);
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(2_000_000));
        assertFalse(k1.equals(ResumeKey.of(conf, "job").checkpoint(c).add("opt").hash()), "same length, rewritten: another key");
    }

    static Configuration direct() {
        Configuration c = new Configuration();
        c.set(StagedOutput.COMMIT_KEY, "direct");
        return c;
    }

    @Test
    void directCommitWritesInPlaceAndReadersRefuseTheDirectoryUntilSuccess(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        StagedOutput a = StagedOutput.begin(direct(), out.toUri().toString(), false);
        assertTrue(a.isDirect());
        byte[] st = SafetensorsLayout.of(java.util.List.of(), null).headerBytes();
        try (var os = a.create("model.safetensors")) { os.write(st); }
        assertTrue(Files.exists(out.resolve("model.safetensors")), "object-store mode writes in place");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> CheckpointCatalog.open(new Configuration(), out.toUri().toString()));
        assertTrue(e.getMessage().contains("IncompleteOutput"), e.getMessage());
        a.commit();
        assertTrue(Files.exists(out.resolve(StagedOutput.SUCCESS)));
        assertFalse(Files.exists(out.resolve(StagedOutput.TEMPORARY)));
        assertEquals(0, CheckpointCatalog.open(new Configuration(), out.toUri().toString()).tensors().size());

        StagedOutput b = StagedOutput.begin(direct(), out.toUri().toString(), true);
        b.writeString("partial.json", "x");
        b.abort();
        assertFalse(Files.exists(out.resolve("partial.json")), "abort removes what the run wrote in place");
    }

    @Test
    void leftoversOfARunThatDiedAreClearedByTheNextRun(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        Files.createDirectories(out.resolve(StagedOutput.TEMPORARY).resolve("dead-run"));
        Files.writeString(out.resolve("model-00001-of-00002.safetensors"), "half");
        StagedOutput a = StagedOutput.begin(new Configuration(), out.toUri().toString(), false);
        assertFalse(Files.exists(out.resolve("model-00001-of-00002.safetensors")), "an uncommitted leftover is not a result");
        a.writeString("model.safetensors.index.json", "{}");
        a.writeString("z.json", "{}");
        a.commit();
        assertFalse(Files.exists(out.resolve(StagedOutput.TEMPORARY)), "the dead run's staging is gone too");
        assertEquals(java.util.List.of("a.safetensors", "z.json", "model.safetensors.index.json"),
                StagedOutput.commitOrder(java.util.List.of("model.safetensors.index.json", "a.safetensors", "z.json")));
    }
}
