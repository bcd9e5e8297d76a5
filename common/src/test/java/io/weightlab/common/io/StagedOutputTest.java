package io.weightlab.common.io;

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
