package io.weightlab.jobs;

import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A selection that matches nothing stops the job before it writes anything, with what the checkpoint has; a rule
 * by module kind selects what inspect labels so, whatever the family calls it.
 */
public class SelectionCliTest {
    static final String BERT = Fixtures.dir("all-minilm-l6-v2").toString();

    @Test
    void anApplyRuleMatchingNothingOnBertIsAnErrorNotAnUnchangedCopy(@TempDir Path tmp) {
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("rescale", BERT, "--out", out.toString(), "--apply", "mlp.*=tvr:target_std=0.02");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--apply 'mlp.*=tvr:target_std=0.02' matches no tensor") && r.err().contains("mlp_up (12)"), r.err());
        assertFalse(Files.exists(out), "nothing written");

        Cli.Run byKind = Cli.run("rescale", BERT, "--out", out.toString(), "--apply", "kind:mlp_up=tvr:target_std=0.02");
        assertEquals(0, byKind.exit(), byKind.err());
        assertTrue(byKind.out().contains("[rescale] 12 tensor(s) change"), "6 intermediate.dense weights and their biases: " + byKind.out());
    }

    @Test
    void otherSelectionsMatchingNothingAreErrorsToo(@TempDir Path tmp) {
        Cli.Run lora = Cli.run("lora-init", BERT, "--out", tmp.resolve("l").toString(), "--method", "kaiming", "--target-modules", "query,valeu");
        assertEquals(2, lora.exit(), lora.err());
        assertTrue(lora.err().contains("--target-modules valeu matches no 2-D weight") && lora.err().contains("value"), lora.err());

        Cli.Run stats = Cli.run("stats", BERT, "--histogram-tensor", "encoder.layer.0.attention.self.query.weigth");
        assertEquals(2, stats.exit(), stats.err());
        assertTrue(stats.err().contains("did you mean 'encoder.layer.0.attention.self.query.weight'"), stats.err());

        Cli.Run spectrum = Cli.run("spectrum", BERT, "--include", "head");
        assertEquals(2, spectrum.exit(), spectrum.err());
        assertTrue(spectrum.err().contains("--include head matches no tensor") && spectrum.err().contains("module kinds here"), spectrum.err());
        Cli.Run typo = Cli.run("spectrum", BERT, "--include", "embedings");
        assertTrue(typo.exit() == 2 && typo.err().contains("did you mean 'embeddings'"), typo.err());
    }
}
