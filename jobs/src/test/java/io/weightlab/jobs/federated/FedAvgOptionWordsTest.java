package io.weightlab.jobs.federated;

import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** fedavg's word options are parsed into enums at the command line: a wrong word is a usage error listing the choices. */
class FedAvgOptionWordsTest {
    @Test
    void aWrongWordListsTheChoicesBeforeAnythingRuns() {
        Cli.Run bad = Cli.run("fedavg", "--manifest", "nowhere.json", "--out", "nowhere", "--bad-clients", "skip");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("--bad-clients must be one of [fail, drop], got 'skip'"), bad.err());
        assertFalse(bad.err().contains("nowhere.json"), "rejected before the manifest is read: " + bad.err());

        Cli.Run weighting = Cli.run("fedavg", "--manifest", "nowhere.json", "--out", "nowhere", "--weighting", "size");
        assertEquals(2, weighting.exit(), weighting.err());
        assertTrue(weighting.err().contains("--weighting must be one of [examples, uniform, given], got 'size'"), weighting.err());
    }

    @Test
    void wordsAreCaseInsensitive() {
        Cli.Run r = Cli.run("fedavg", "--manifest", "nowhere.json", "--out", "nowhere", "--bad-clients", "DROP", "--weighting", "Uniform");
        assertFalse(r.err().contains("must be one of"), r.err());
        assertTrue(r.err().contains("nowhere.json"), "parsed, then the missing manifest is the error: " + r.err());
    }
}
