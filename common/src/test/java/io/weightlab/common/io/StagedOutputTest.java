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
}
