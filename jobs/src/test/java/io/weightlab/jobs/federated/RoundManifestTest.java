package io.weightlab.jobs.federated;

import io.weightlab.common.fed.RoundManifest;
import io.weightlab.common.error.UsageException;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round manifests as submit-scripts/scheduled documents them (YAML), and the mistakes a manifest can hold. */
public class RoundManifestTest {
    static RoundManifest parse(Path dir, String text) throws IOException {
        Path f = Files.writeString(dir.resolve("m.yaml"), text);
        return RoundManifests.read(new Configuration(), f.toString());
    }

    @Test
    void yamlManifestOfTheScheduledExampleParses(@TempDir Path tmp) throws IOException {
        RoundManifest m = parse(tmp, """
                round: 12
                reference: s3a://fl-prod/global/round-11/model
                clients:
                  - {id: site-a, uri: s3a://fl-prod/rounds/12/site-a, examples: 12000}
                  - id: site-b
                    uri: s3a://fl-prod/rounds/12/site-b
                    examples: 800
                    weight: 0.25
                """);
        assertEquals("12", m.round());
        assertEquals("s3a://fl-prod/global/round-11/model", m.reference());
        assertEquals(2, m.clients().size());
        assertEquals(12000, m.clients().get(0).examples());
        assertNull(m.clients().get(0).weight());
        assertEquals(0.25, m.clients().get(1).weight());
    }

    @Test
    void duplicateIdsUnknownKeysAndMissingUrisAreRefusedWithTheirPlace(@TempDir Path tmp) {
        UsageException dup = assertThrows(UsageException.class, () -> parse(tmp, "clients: [{id: a, uri: x, examples: 1}, {id: a, uri: y, examples: 2}]"));
        assertTrue(dup.getMessage().contains("clients[1]") && dup.getMessage().contains("UniqueClientIds"), dup.getMessage());
        UsageException typo = assertThrows(UsageException.class, () -> parse(tmp, "clients: [{id: a, uri: x, exemples: 1}]"));
        assertTrue(typo.getMessage().contains("exemples"), typo.getMessage());
        UsageException nouri = assertThrows(UsageException.class, () -> parse(tmp, "clients: [{id: a, examples: 1}]"));
        assertTrue(nouri.getMessage().contains("'uri'"), nouri.getMessage());
        UsageException empty = assertThrows(UsageException.class, () -> parse(tmp, "round: 1\nclients: []"));
        assertTrue(empty.getMessage().contains("non-empty"), empty.getMessage());
    }
}
