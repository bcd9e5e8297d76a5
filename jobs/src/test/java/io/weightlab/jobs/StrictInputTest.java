package io.weightlab.jobs;

import io.weightlab.common.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Input that is wrong is refused with one line that says what and where, exit code 2, before any work: misspelled
 * options and config keys (with "did you mean"), and the version and --config discoverable from the CLI itself.
 */
public class StrictInputTest {

    static List<String> lines(String s) {
        return s.lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void aMisspelledOptionIsOneLineWithASuggestionNotTheWholeUsage(@TempDir Path tmp) throws IOException {
        Cli.Run r = Cli.run("stats", CliTest.nanFile(tmp).toString(), "--slcie-mb", "3");
        assertEquals(2, r.exit());
        List<String> err = lines(r.err());
        assertEquals(2, err.size(), "one error line and the --help hint, not the usage:\n" + r.err());
        assertTrue(err.get(0).startsWith("weightlab stats: error: ") && err.get(0).contains("--slcie-mb") && err.get(0).contains("did you mean '--slice-mb'"), err.get(0));
        assertEquals("Try 'weightlab stats --help'.", err.get(1));
        assertFalse(r.out().contains("Usage:"), r.out());
    }

    @Test
    void anUnknownConfigKeyIsAnErrorNamingTheFileTheKeyAndTheNearestOption(@TempDir Path tmp) throws IOException {
        Path f = CliTest.nanFile(tmp);
        Path cfg = tmp.resolve("job.yaml");
        Files.writeString(cfg, "stats:\n  slcie-mb: 32\n");
        Cli.Run r = Cli.run("--config", cfg.toString(), "stats", f.toString());
        assertEquals(2, r.exit());
        List<String> err = lines(r.err());
        assertEquals(1, err.size(), r.err());
        assertTrue(err.get(0).contains(cfg.toString()) && err.get(0).contains("'stats.slcie-mb'") && err.get(0).contains("did you mean 'slice-mb'"), err.get(0));

        // a top-level key is checked against the job being run
        Files.writeString(cfg, "gg-fitt: moments\n");
        r = Cli.run("stats", f.toString(), "--config", cfg.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("unknown key 'gg-fitt' for weightlab stats") && r.err().contains("did you mean 'gg-fit'"), r.err());

        // a section for another job is checked against that job's options
        Files.writeString(cfg, "rescale:\n  max-shard-sise: 1GB\n");
        r = Cli.run("--config", cfg.toString(), "stats", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("'rescale.max-shard-sise' for weightlab rescale") && r.err().contains("max-shard-size"), r.err());

        // a valid key still applies (slice-mb 0 is refused by the job, proving the value arrived)
        Files.writeString(cfg, "stats:\n  slice-mb: 0\n");
        r = Cli.run("--config", cfg.toString(), "stats", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--slice-mb must be positive"), r.err());
    }

    @Test
    void versionAndConfigAreDiscoverable() throws IOException {
        String version = Files.readString(Path.of("target", "classes", "weightlab", "version.txt")).strip();
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), "filtered from the POM: " + version);
        Cli.Run v = Cli.run("-V");
        assertEquals(0, v.exit());
        assertTrue(v.out().startsWith("weightlab " + version + "\n"), v.out());
        Cli.Run sub = Cli.run("stats", "--version");
        assertTrue(sub.out().startsWith("weightlab " + version), "every job answers --version: " + sub.out());
        for (String job : List.of("inspect", "stats", "spectrum", "rescale", "lora-init", "fedavg", "synth", "import", "report")) {
            Cli.Run h = Cli.run(job, "--help");
            assertEquals(0, h.exit(), job);
            assertTrue(h.out().contains("--config=FILE"), job + " --help lists --config:\n" + h.out());
        }
    }

    @Test
    void aSelectionThatMatchesNothingIsAnErrorListingWhatExists(@TempDir Path tmp) throws IOException {
        String bert = Fixtures.dir("all-minilm-l6-v2").toString();
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("rescale", bert, "--out", out.toString(), "--apply", "mlp.*=tvr:target_std=0.02");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--apply 'mlp.*=tvr:target_std=0.02' matches no tensor") && r.err().contains("mlp_up (12)"), r.err());
        assertFalse(Files.exists(out), "nothing is written");

        r = Cli.run("rescale", bert, "--out", out.toString(), "--apply", "*=keep", "--apply", "kind:mlp_up=tvr");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("taken by the earlier rule '*=keep'"), r.err());
        r = Cli.run("rescale", bert, "--out", out.toString(), "--apply", "kind:mlp_upp=tvr");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("unknown module kind 'mlp_upp'") && r.err().contains("did you mean 'mlp_up'"), r.err());

        r = Cli.run("spectrum", bert, "--include", "head");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--include head matches no tensor"), r.err());

        Path llama = tmp.resolve("llama");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", llama.toString(), "--dtype", "F32").exit());
        r = Cli.run("lora-init", llama.toString(), "--out", tmp.resolve("lora").toString(), "--method", "pissa", "--r", "4",
                "--target-modules", "q_proj,qkv_proj");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("qkv_proj") && r.err().contains("matches no 2-D weight") && r.err().contains("q_proj"), r.err());
        assertFalse(Files.exists(tmp.resolve("lora")));
    }

    @Test
    void ruleSelectorsByModuleKindAndRoleSelectWhatInspectShows(@TempDir Path tmp) throws IOException {
        Path llama = tmp.resolve("llama");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", llama.toString(), "--dtype", "F32").exit());
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("rescale", llama.toString(), "--out", out.toString(), "--apply", "kind:mlp_up,mlp_gate=target-std:std=0.01",
                "--apply", "role:attention=keep");
        assertEquals(0, r.exit(), r.err());
        com.fasterxml.jackson.databind.JsonNode prov = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("weightlab_provenance.json").toFile());
        int scaled = 0, kept = 0;
        for (com.fasterxml.jackson.databind.JsonNode t : prov.get("tensors")) {
            String name = t.get("name").asText(), rule = t.path("rule").asText();
            boolean up = name.contains("mlp.up_proj") || name.contains("mlp.gate_proj");
            boolean attention = name.contains("self_attn.");
            if (up) { assertTrue(rule.startsWith("kind:"), name + " " + rule); scaled++; }
            else if (attention) { assertTrue(rule.startsWith("role:"), name + " " + rule); kept++; }
            else assertTrue(rule.isEmpty() || rule.equals("null"), name + " is selected by no rule: " + rule);
        }
        assertTrue(scaled > 0 && kept > 0, scaled + " " + kept);
    }

    @Test
    void methodParametersAreCheckedAgainstTheirDeclarationAndListed(@TempDir Path tmp) throws IOException {
        Path clients = io.weightlab.jobs.federated.FedAvgJobTest.clients(tmp.resolve("clients"), 2);
        Path out = tmp.resolve("round");
        for (String[] spelling : new String[][] {{"--method", "trimmed-mean", "--method-param", "betta=0.4"}, {"--method", "trimmed-mean:betta=0.4"}}) {
            List<String> args = new java.util.ArrayList<>(List.of("fedavg", clients.resolve("manifest.json").toString(), "--out", out.toString()));
            args.addAll(List.of(spelling));
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains("trimmed-mean: unknown parameter 'betta'") && r.err().contains("did you mean 'beta'"), r.err());
            assertFalse(Files.exists(out), "nothing is written");
        }
        Cli.Run r = Cli.run("fedavg", clients.resolve("manifest.json").toString(), "--out", out.toString(), "--server-opt", "fedadam:tua=1e-3");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("did you mean 'tau'"), r.err());

        Cli.Run list = Cli.run("rescale", "--list-methods");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().contains("tvr\n") && list.out().contains("target_std: number (0, ∞), default 0.02"), list.out());
        list = Cli.run("lora-init", "--list-methods");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().contains("pissa\n") && list.out().contains("svd: choice gram|gesdd, default gram"), list.out());
        list = Cli.run("fedavg", "--list-methods");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().contains("trimmed-mean") && list.out().contains("lora-fair") && list.out().contains("fedadam"), list.out());
    }
}
