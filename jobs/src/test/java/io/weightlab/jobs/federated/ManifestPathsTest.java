package io.weightlab.jobs.federated;

import io.weightlab.common.fed.RoundManifest;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.jobs.Cli;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A manifest's relative URIs are relative to its own folder; a round with no readable client says why per client. */
public class ManifestPathsTest {

    @Test
    void relativeUrisResolveAgainstTheManifestsFolderAbsoluteOnesStay(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("rounds/12"));
        Path f = Files.writeString(dir.resolve("round.yaml"), """
                reference: ../11/model
                clients:
                  - {id: a, uri: site-a, examples: 1}
                  - {id: b, uri: /data/site-b, examples: 1}
                  - {id: c, uri: s3a://bucket/site-c, examples: 1}
                """);
        RoundManifest m = RoundManifests.read(new Configuration(), f.toString());
        assertEquals(dir.resolve("site-a").toString(), m.clients().get(0).uri());
        assertEquals("/data/site-b", m.clients().get(1).uri());
        assertEquals("s3a://bucket/site-c", m.clients().get(2).uri());
        assertEquals(tmp.resolve("rounds/11/model").toString(), m.reference());
        RoundManifest viaUri = RoundManifests.read(new Configuration(), f.toUri().toString());
        assertEquals("file:" + dir.resolve("site-a"), viaUri.clients().get(0).uri());
    }

    @Test
    void aRoundOverClientsBesideItsManifestRunsFromAnyWorkingDirectory(@TempDir Path tmp) throws IOException {
        Path round = Files.createDirectories(tmp.resolve("round"));
        for (String site : new String[] {"site-a", "site-b"}) Files.createSymbolicLink(round.resolve(site), Fixtures.dir("all-minilm-l6-v2").toAbsolutePath());
        Path manifest = Files.writeString(round.resolve("round.yaml"), "clients:\n  - {id: a, uri: site-a, examples: 3}\n  - {id: b, uri: site-b, examples: 1}\n");
        Cli.Run r = Cli.run("fedavg", manifest.toString(), "--out", tmp.resolve("out").toString()); // the manifest as the argument
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(tmp.resolve("out/_SUCCESS")));
    }

    @Test
    void noReadableClientIsOneLinePerClientNotAJavaMap(@TempDir Path tmp) throws IOException {
        Path manifest = Files.writeString(tmp.resolve("round.yaml"), "clients:\n  - {id: a, uri: gone-a, examples: 3}\n  - {id: b, uri: gone-b, examples: 1}\n");
        Cli.Run r = Cli.run("fedavg", "--manifest", manifest.toString(), "--out", tmp.resolve("out").toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("no readable client:\n  client 'a': unreadable: ") && r.err().contains("\n  client 'b': unreadable: "), r.err());
        assertTrue(r.err().contains(tmp.resolve("gone-a").toString()), "the resolved path: " + r.err());
        assertFalse(r.err().contains("{a="), r.err());
        assertFalse(Files.exists(tmp.resolve("out")));
    }
}
