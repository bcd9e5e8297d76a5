package io.weightlab.jobs;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the job skeleton (spark/JobRun, spark/ModelWriter) promises every job: a bad output directory is refused
 * before any work, a job without --out says that nothing was written, and a weight writer says when it found no
 * config.json to copy.
 */
public class JobSkeletonTest {
    @Test
    void inspectRefusesACommittedOutputBeforeReadingTheCheckpoint(@TempDir Path tmp) throws Exception {
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("inspect.json"), "{}");
        Files.writeString(out.resolve(StagedOutput.SUCCESS), "");
        Cli.Run r = Cli.run("inspect", Fixtures.dir("all-minilm-l6-v2").toString(), "--out", out.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--overwrite"), r.err());
        assertFalse(r.out().contains("tensors,"), "the checkpoint was not listed before the refusal:\n" + r.out());
        assertEquals("{}", Files.readString(out.resolve("inspect.json")), "the committed result is untouched");

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Cli.Run f = Cli.run("inspect", Fixtures.dir("all-minilm-l6-v2").toString(), "--out", file.toString());
        assertEquals(2, f.exit(), f.err());
        assertTrue(f.err().contains("must be a directory"), f.err());
    }

    @Test
    void statsWithoutOutSaysNothingIsWritten() {
        Cli.Run r = Cli.run("stats", Fixtures.dir("all-minilm-l6-v2").toString(), "--gg-fit", "none", "--master", "local[2]");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("[stats] no --out given: nothing is written"), r.out());
    }

    @Test
    void aWeightWriterWarnsWhenThereIsNoConfigToCopy(@TempDir Path tmp) throws Exception {
        Path model = Files.createDirectories(tmp.resolve("bare"));
        Files.createSymbolicLink(model.resolve("model.safetensors"), Fixtures.dir("all-minilm-l6-v2").resolve("model.safetensors").toAbsolutePath());
        Cli.Run r = Cli.run("rescale", model.toString(), "--out", tmp.resolve("out").toString(), "--apply", "*=keep", "--master", "local[2]");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("[rescale] warning: no config.json beside"), r.out());

        Cli.Run withConfig = Cli.run("rescale", Fixtures.dir("all-minilm-l6-v2").toString(), "--out", tmp.resolve("out2").toString(),
                "--apply", "*=keep", "--master", "local[2]");
        assertEquals(0, withConfig.exit(), withConfig.err());
        assertFalse(withConfig.out().contains("warning: no config.json"), withConfig.out());
    }
}
