package io.weightlab.jobs.analysis;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetCheckpoint;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --inputs lists (text and YAML) and glob expansion, without Spark. */
class FleetInputsTest {
    static final Configuration CONF = new Configuration();

    @Test
    void textListsYamlEntriesAndGlobs(@TempDir Path tmp) throws IOException {
        for (String d : List.of("runs/a/checkpoint-100", "runs/a/checkpoint-200", "runs/a/_tmp", "runs/b/checkpoint-100")) Files.createDirectories(tmp.resolve(d));
        Files.writeString(tmp.resolve("runs/a/notes.txt"), "x");
        Files.writeString(tmp.resolve("list.txt"), "# the runs\nruns/a/checkpoint-100\n\n  " + tmp.resolve("runs/b/checkpoint-100") + "  \n");
        List<FleetCheckpoint> txt = FleetInputs.resolve(CONF, List.of(), tmp.resolve("list.txt").toString());
        assertEquals(2, txt.size());
        assertEquals(tmp.resolve("runs/a/checkpoint-100").toString(), txt.get(0).uri(), "relative to the list's folder");
        assertEquals(tmp.resolve("runs/b/checkpoint-100").toString(), txt.get(1).uri());

        Files.writeString(tmp.resolve("list.yaml"), """
                checkpoints:
                  - {uri: runs/a/checkpoint-100, model: run-a, step: 7, tags: {lr: "3e-4", seed: 1}}
                  - runs/b/checkpoint-100
                """);
        List<FleetCheckpoint> yaml = FleetInputs.resolve(CONF, List.of(), tmp.resolve("list.yaml").toString());
        assertEquals("run-a", yaml.get(0).model());
        assertEquals(7L, yaml.get(0).step());
        assertEquals(Map.of("lr", "3e-4", "seed", "1"), yaml.get(0).tags());
        assertNull(yaml.get(1).model());

        // a glob: directories and .safetensors files, not _-prefixed names or other files, in natural order
        List<FleetCheckpoint> g = FleetInputs.resolve(CONF, List.of(tmp.resolve("runs/a").toString() + "/*"), null);
        assertEquals(List.of("checkpoint-100", "checkpoint-200"), g.stream().map(c -> c.uri().substring(c.uri().lastIndexOf('/') + 1)).toList());

        UsageException none = assertThrows(UsageException.class, () -> FleetInputs.resolve(CONF, List.of(tmp + "/runs/c*/x"), null));
        assertTrue(none.getMessage().contains("no checkpoint matches"), none.getMessage());
    }

    @Test
    void badListsAreUsageErrorsNamingTheEntry(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("typo.yaml"), "- {uri: a, modle: x}\n");
        UsageException typo = assertThrows(UsageException.class, () -> FleetInputs.resolve(CONF, List.of(), tmp.resolve("typo.yaml").toString()));
        assertTrue(typo.getMessage().contains("entry 0") && typo.getMessage().contains("'modle'") && typo.getMessage().contains("model"), typo.getMessage());
        Files.writeString(tmp.resolve("step.yaml"), "- {uri: a, step: 1.5}\n");
        UsageException step = assertThrows(UsageException.class, () -> FleetInputs.resolve(CONF, List.of(), tmp.resolve("step.yaml").toString()));
        assertTrue(step.getMessage().contains("'step' must be an integer"), step.getMessage());
        Files.writeString(tmp.resolve("nouri.yaml"), "- {model: x}\n");
        assertThrows(UsageException.class, () -> FleetInputs.resolve(CONF, List.of(), tmp.resolve("nouri.yaml").toString()));
        Files.writeString(tmp.resolve("empty.txt"), "# nothing\n");
        assertThrows(UsageException.class, () -> FleetInputs.resolve(CONF, List.of(), tmp.resolve("empty.txt").toString()));
    }
}
