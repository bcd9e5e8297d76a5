package io.weightlab.jobs.federated;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code fedavg --dp gaussian} on small clients (fed_small.py): with z = 0 the model is numpy's clipped uniform mean
 * (Flower's fixed-clipping strategy); with z > 0 the model minus the z = 0 model has the stated std zτ/K and is
 * normal (fixed seed, so the statistics are deterministic); ε composes over two rounds through server_state/ as the
 * closed form of the Gaussian mechanism's RDP says; a round past --epsilon-budget is refused with nothing written.
 */
class FedDpJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "scipy", "safetensors");
    }

    static JsonNode small(String... args) throws IOException {
        return JSON.readTree(Python.script(Python.testScript("fed_small.py"), args));
    }

    static Cli.Run fedavg(Path clients, Path out, String... opts) {
        String[] args = new String[5 + opts.length];
        args[0] = "fedavg";
        args[1] = clients.resolve("manifest.json").toString();
        args[2] = "--out";
        args[3] = out.toString();
        args[4] = "--weighting=uniform";
        System.arraycopy(opts, 0, args, 5, opts.length);
        return Cli.run(args);
    }

    @Test
    void clippedMeanPlusNoiseOfTheStatedStdWithEpsilonComposedAndTheBudgetEnforced(@TempDir Path tmp) throws IOException {
        Path c = tmp.resolve("clients");
        small("make", c.toString(), "5", "0.5,1.5,3,0.8");
        double tau = 1.0, z = 0.5;
        int k = 4;

        Path plain = tmp.resolve("plain");
        Cli.Run p = fedavg(c, plain, "--dp", "gaussian", "--clip", "1", "--noise-multiplier", "0", "--seed", "7");
        assertEquals(0, p.exit(), p.err());
        JsonNode clipped = small("clipped", c.toString(), plain.toString(), "1");
        assertTrue(clipped.get("max_abs_diff").asDouble() <= clipped.get("ulp").asDouble(),
                "z = 0: the uniform mean of Δ·min(1, τ/‖Δ‖), to one float32 ulp of the largest value: " + clipped);

        Path noised = tmp.resolve("noised");
        Cli.Run n = fedavg(c, noised, "--dp", "gaussian", "--clip", "1", "--noise-multiplier", "0.5", "--seed", "7", "--epsilon-budget", "100");
        assertEquals(0, n.exit(), n.err());
        double std = z * tau / k;
        JsonNode s = small("noise", noised.toString(), plain.toString(), String.valueOf(std));
        int count = s.get("n").asInt();
        // sample std of n normals: relative sd 1/√(2n) (≈ 0.004 here); 5 of those; the mean within 5 σ/√n; KS at 1e-3
        assertEquals(1.0, s.get("ratio").asDouble(), 5 / Math.sqrt(2.0 * count), "std of noised − clipped mean vs zτ/K: " + s);
        assertEquals(0.0, s.get("mean").asDouble(), 5 * std / Math.sqrt(count), "noise mean: " + s);
        assertTrue(s.get("ks_p").asDouble() > 1e-3, "normal by Kolmogorov-Smirnov: " + s);

        JsonNode dp = JSON.readTree(noised.resolve(FedAvgJob.REPORT).toFile()).get("run").get("dp");
        assertEquals(z, dp.get("noise_multiplier").asDouble());
        assertEquals(tau, dp.get("clip").asDouble());
        assertEquals(1.0, dp.get("sampling_rate").asDouble());
        assertEquals(std, dp.get("noise_std").asDouble(), 1e-15);
        assertEquals(1e-5, dp.get("delta").asDouble());
        double eps1 = small("eps", "0.5", "1", "1e-5").get("epsilon").asDouble();
        assertEquals(eps1, dp.get("epsilon").asDouble(), 1e-9 * eps1, "one Gaussian-mechanism round: min over α of α/(2z²) converted: " + dp);

        Path again = tmp.resolve("again");
        assertEquals(0, fedavg(c, again, "--dp", "gaussian", "--clip", "1", "--noise-multiplier", "0.5", "--seed", "7").exit());
        assertArrayEquals(Files.readAllBytes(noised.resolve("model/model.safetensors")), Files.readAllBytes(again.resolve("model/model.safetensors")),
                "the same seed and state draw the same noise");

        // round 2 from round 1's ledger: ε of two rounds; a budget between ε1 and ε2 refuses it
        double eps2 = small("eps", "0.5", "2", "1e-5").get("epsilon").asDouble();
        Path refused = tmp.resolve("refused");
        Cli.Run r = fedavg(c, refused, "--dp", "gaussian", "--clip", "1", "--noise-multiplier", "0.5", "--seed", "7",
                "--server-state", noised.resolve("server_state").toString(), "--epsilon-budget", String.valueOf((eps1 + eps2) / 2));
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("PrivacyBudget") && r.err().strip().lines().count() == 1, "one line naming the rule: " + r.err());
        assertFalse(Files.exists(refused), "nothing written");

        Path second = tmp.resolve("second");
        Cli.Run r2 = fedavg(c, second, "--dp", "gaussian", "--clip", "1", "--noise-multiplier", "0.5", "--seed", "7",
                "--server-state", noised.resolve("server_state").toString(), "--epsilon-budget", String.valueOf(eps2 * 1.001));
        assertEquals(0, r2.exit(), r2.err());
        JsonNode dp2 = JSON.readTree(second.resolve(FedAvgJob.REPORT).toFile()).get("run").get("dp");
        assertEquals(eps2, dp2.get("epsilon").asDouble(), 1e-9 * eps2, "two rounds compose: " + dp2);
        assertEquals(eps1, dp2.get("epsilon_before").asDouble(), 1e-9 * eps1);
        assertEquals(2, JSON.readTree(second.resolve("server_state/privacy.json").toFile()).get("rounds").size());
        assertFalse(Files.readString(second.resolve(FedAvgJob.REPORT)).contains("seed"), "the report never holds the noise seed");
        JsonNode s2 = small("noise", second.toString(), plain.toString(), String.valueOf(std));
        assertEquals(1.0, s2.get("ratio").asDouble(), 5 / Math.sqrt(2.0 * count), "round 2 noise: " + s2);
        assertTrue(Math.abs(s2.get("mean").asDouble() - s.get("mean").asDouble()) > 0, "round 2 draws new noise");
    }

    @Test
    void adaptiveClippingFollowsAndrewEtAlAndCarriesTheNormInTheLedger(@TempDir Path tmp) throws IOException {
        Path c = tmp.resolve("clients");
        small("make", c.toString(), "5", "0.5,1.5,3,0.8");
        // z = 0, σ_b = 0: every norm is above C = 0.1, so b̃ = 0 and C₁ = 0.1·exp(−0.2·(0 − 0.5)) = 0.1·e^0.1
        Path r1 = tmp.resolve("r1");
        Cli.Run a = fedavg(c, r1, "--dp", "gaussian", "--clip", "adaptive", "--noise-multiplier", "0", "--seed", "1");
        assertEquals(0, a.exit(), a.err());
        JsonNode clipped = small("clipped", c.toString(), r1.toString(), "0.1");
        assertTrue(clipped.get("max_abs_diff").asDouble() <= clipped.get("ulp").asDouble(), "round 1 clips to the initial 0.1: " + clipped);
        JsonNode dp = JSON.readTree(r1.resolve(FedAvgJob.REPORT).toFile()).get("run").get("dp");
        double c1 = 0.1 * Math.exp(0.1);
        assertEquals(0.0, dp.get("unclipped_fraction_noised").asDouble(), 0.0, dp.toString());
        assertEquals(c1, dp.get("clip_next").asDouble(), 1e-15, dp.toString());

        // round 2 reads C₁ from the ledger and clips to it; z = 0.5 with σ_b = 1: the mean's multiplier is (z⁻² − (2σ_b)⁻²)^−½
        Path r2 = tmp.resolve("r2");
        Cli.Run b = fedavg(c, r2, "--dp", "gaussian", "--clip", "adaptive:count_stddev=1", "--noise-multiplier", "0.5", "--seed", "1",
                "--server-state", r1.resolve("server_state").toString());
        assertEquals(0, b.exit(), b.err());
        JsonNode dp2 = JSON.readTree(r2.resolve(FedAvgJob.REPORT).toFile()).get("run").get("dp");
        assertEquals(c1, dp2.get("clip").asDouble(), 1e-15, dp2.toString());
        double zMean = 1 / Math.sqrt(1 / 0.25 - 1 / 4.0);
        assertEquals(zMean, dp2.get("noise_multiplier_mean").asDouble(), 1e-12, dp2.toString());
        assertEquals(zMean * c1 / 4, dp2.get("noise_std").asDouble(), 1e-15, dp2.toString());
        for (JsonNode client : JSON.readTree(r2.resolve(FedAvgJob.REPORT).toFile()).get("clients")) {
            assertEquals(c1 / client.get("update_norm").asDouble(), client.get("clip_factor").asDouble(), 1e-12, "clipped to C₁: " + client);
        }
        // z ≥ 2σ_b leaves no budget for the mean: refused before anything is written
        Cli.Run r = fedavg(c, tmp.resolve("bad"), "--dp", "gaussian", "--clip", "adaptive:count_stddev=0.2", "--noise-multiplier", "0.5", "--seed", "1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("AdaptiveClipNoise"), r.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
    }

    @Test
    void misusedOptionsAreOneLineUsageErrors(@TempDir Path tmp) throws IOException {
        Path c = tmp.resolve("clients");
        small("make", c.toString(), "3", "0.5,1.5,3");
        String[][] bad = {
                {"--dp", "gaussian", "--clip", "median", "--noise-multiplier", "1", "--seed", "1"},
                {"--dp", "gaussian", "--clip", "1", "--seed", "1"},
                {"--dp", "gaussian", "--clip", "1", "--noise-multiplier", "1"},
                {"--dp", "laplace", "--clip", "1", "--noise-multiplier", "1", "--seed", "1"},
                {"--noise-multiplier", "1"},
                {"--dp", "gaussian", "--clip", "1", "--noise-multiplier", "1", "--seed", "1", "--method", "median"},
        };
        for (String[] b : bad) {
            Path out = tmp.resolve("out");
            Cli.Run r = fedavg(c, out, b);
            assertEquals(2, r.exit(), String.join(" ", b) + ": " + r.err());
            assertFalse(Files.exists(out), String.join(" ", b));
        }
        Cli.Run weighted = Cli.run("fedavg", c.resolve("manifest.json").toString(), "--out", tmp.resolve("w").toString(),
                "--dp", "gaussian", "--clip", "1", "--noise-multiplier", "1", "--seed", "1");
        assertEquals(2, weighted.exit());
        assertTrue(weighted.err().contains("DpUniformWeights"), weighted.err());
    }
}
