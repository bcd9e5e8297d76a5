package io.weightlab.jobs.federated;

import io.weightlab.jobs.Cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab fedavg} on clients made from the real all-MiniLM-L6-v2 fixture (fed_check.py: seeded
 * perturbations, a poisoned client with a 1000x update, a client with a NaN), checked against numpy/scipy on the
 * same clients and the oracles of docs/algorithms.md §5: identical clients give the input back exactly for every method;
 * variance correction restores the mean client variance; bad clients fail the round or are dropped by policy, and a
 * failed round leaves no output.
 */
public class FedAvgJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "scipy", "safetensors");
    }

    public static Path clients(Path dir, int k, String... flags) {
        String[] args = new String[4 + flags.length];
        args[0] = "make";
        args[1] = Fixtures.dir("all-minilm-l6-v2").toString();
        args[2] = dir.toString();
        args[3] = String.valueOf(k);
        System.arraycopy(flags, 0, args, 4, flags.length);
        Python.script(Python.testScript("fed_check.py"), args);
        return dir;
    }

    static JsonNode check(Path clients, Path result, String method, String kept, String... extra) throws IOException {
        String[] args = new String[5 + extra.length];
        args[0] = "check";
        args[1] = clients.toString();
        args[2] = result.toString();
        args[3] = method;
        args[4] = kept;
        System.arraycopy(extra, 0, args, 5, extra.length);
        return JSON.readTree(Python.script(Python.testScript("fed_check.py"), args));
    }

    static Cli.Run fedavg(Path clients, Path out, String... opts) {
        String[] args = new String[5 + opts.length];
        args[0] = "fedavg";
        args[1] = "--manifest";
        args[2] = clients.resolve("manifest.json").toString();
        args[3] = "--out";
        args[4] = out.toString();
        System.arraycopy(opts, 0, args, 5, opts.length);
        return Cli.run(args);
    }

    @Test
    void identicalClientsGiveTheInputBackExactlyForEveryMethod(@TempDir Path tmp) throws IOException {
        Path c = clients(tmp.resolve("clients"), 3, "--identical");
        Path base = Fixtures.dir("all-minilm-l6-v2");
        for (String[] m : List.of(new String[] {"--method", "fedavg"}, new String[] {"--method", "median"},
                new String[] {"--method", "trimmed-mean", "--method-param", "beta=0.34"},
                new String[] {"--method", "fedavg", "--variance-correction", "follow-others"})) {
            Path out = tmp.resolve("out-" + String.join("-", m).replace("=", ""));
            Cli.Run r = fedavg(c, out, m);
            assertEquals(0, r.exit(), r.err());
            assertEquals("", differingTensors(base, out.resolve("model")), Arrays.toString(m) + ": K identical clients -> the input, bit for bit");
        }
    }

    /** Names of tensors whose stored bytes differ between two checkpoints (dtype, shape and bytes compared). */
    static String differingTensors(Path a, Path b) {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
        io.weightlab.common.io.Checkpoint ca = io.weightlab.common.io.CheckpointCatalog.open(conf, a.toString());
        io.weightlab.common.io.Checkpoint cb = io.weightlab.common.io.CheckpointCatalog.open(conf, b.toString());
        StringBuilder diff = new StringBuilder();
        try (io.weightlab.common.io.RangeReader r = new io.weightlab.common.io.RangeReader(conf)) {
            for (io.weightlab.common.model.TensorInfo t : ca.tensors()) {
                io.weightlab.common.model.TensorInfo u = cb.tensor(t.name());
                if (u == null || u.dtype() != t.dtype() || !Arrays.equals(u.shape(), t.shape()) || !Arrays.equals(bytes(r, t), bytes(r, u))) {
                    diff.append(t.name()).append(' ');
                }
            }
        }
        return diff.toString();
    }

    static byte[] bytes(io.weightlab.common.io.RangeReader r, io.weightlab.common.model.TensorInfo t) {
        byte[] b = new byte[(int) (t.dataEnd() - t.dataBegin())];
        r.read(t.file(), t.dataBegin(), b, 0, b.length);
        return b;
    }

    @Test
    void fedavgMedianAndTrimmedMeanMatchNumpyAndRoundsAreIdempotent(@TempDir Path tmp) throws IOException {
        Path c = clients(tmp.resolve("clients"), 4);
        Path out = tmp.resolve("fedavg");
        Cli.Run r = fedavg(c, out);
        assertEquals(0, r.exit(), r.err());
        assertEquals(0.0, check(c, out, "fedavg", "c0,c1,c2,c3").get("max_rel_diff").asDouble(), 0.0,
                "Σ p_k x_k with p_k = n_k/Σn, double then F32: the same bits as numpy");
        JsonNode report = JSON.readTree(out.resolve(FedAvgJob.REPORT).toFile());
        assertEquals(0.1, report.get("clients").get(0).get("weight").asDouble(), 1e-15, "100 of 1000 examples");
        JsonNode numbers = JSON.readTree(Python.script(Python.testScript("fed_check.py"), "report", c.toString(), out.toString(), "c0,c1,c2,c3"));
        for (String k : List.of("update_norm", "cosine", "spread", "mean_update_norm")) {
            assertEquals(0.0, numbers.get(k).asDouble(), 1e-9, k + ": the report's number against numpy on the same clients: " + numbers);
        }

        Path again = tmp.resolve("fedavg-again");
        assertEquals(0, fedavg(c, again).exit());
        assertArrayEquals(Files.readAllBytes(out.resolve("model/model.safetensors")), Files.readAllBytes(again.resolve("model/model.safetensors")),
                "re-running a round writes identical bytes");
        Cli.Run refused = fedavg(c, out);
        assertEquals(2, refused.exit(), "a committed round is not overwritten without --overwrite");

        Path med = tmp.resolve("median"), trim = tmp.resolve("trimmed");
        assertEquals(0, fedavg(c, med, "--method", "median").exit());
        assertEquals(0.0, check(c, med, "median", "c0,c1,c2,c3").get("max_rel_diff").asDouble(), 0.0, "np.median(axis=0)");
        assertEquals(0, fedavg(c, trim, "--method", "trimmed-mean", "--method-param", "beta=0.25").exit());
        assertEquals(0.0, check(c, trim, "trimmed-mean", "c0,c1,c2,c3", "0.25").get("max_rel_diff").asDouble(), 1e-7,
                "scipy.stats.trim_mean(proportiontocut=0.25)");
    }

    @Test
    void varianceCorrectionRestoresTheMeanClientVariance(@TempDir Path tmp) throws IOException {
        Path c = clients(tmp.resolve("clients"), 4);
        Path out = tmp.resolve("vc");
        Cli.Run r = fedavg(c, out, "--variance-correction", "follow-others", "--eps", "0");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = check(c, out, "varcorr", "c0,c1,c2,c3");
        assertEquals(0.0, j.get("variance_rel_err").asDouble(), 1e-5, "Var(w') == mean_k Var(w_k) with eps = 0 (2-D weights, F32)");
        assertEquals(0.0, j.get("max_rel_diff").asDouble(), 0.0, "tensors outside the pattern are the plain FedAvg");
        JsonNode rows = JSON.readTree(out.resolve(FedAvgJob.REPORT).toFile()).get("tensors");
        boolean shrunk = false;
        for (JsonNode t : rows) if (t.has("correction_scale")) shrunk |= t.get("correction_scale").asDouble() > 1;
        assertTrue(shrunk, "averaging shrank some variance and the correction undid it");
    }

    @Test
    void poisonedAndNanClientsFailTheRoundOrAreDroppedByPolicy(@TempDir Path tmp) throws IOException {
        Path c = clients(tmp.resolve("clients"), 5, "--poison", "c3", "--nan", "c4");
        Path failed = tmp.resolve("failed");
        Cli.Run f = fedavg(c, failed, "--reject-outliers", "3.5");
        assertEquals(2, f.exit());
        assertTrue(f.err().contains("c4") && f.err().contains("NaN") && f.err().contains("embeddings.position_embeddings.weight"), f.err());
        assertFalse(Files.exists(failed), "a failed round writes nothing");

        Path out = tmp.resolve("dropped");
        Cli.Run d = fedavg(c, out, "--bad-clients", "drop", "--reject-outliers", "3.5");
        assertEquals(0, d.exit(), d.err());
        assertEquals(0.0, check(c, out, "fedavg", "c0,c1,c2").get("max_rel_diff").asDouble(), 0.0, "FedAvg of the three good clients");
        JsonNode cl = JSON.readTree(out.resolve(FedAvgJob.REPORT).toFile()).get("clients");
        assertTrue(cl.get(3).get("reason").asText().contains("OutlierUpdate"), cl.toString());
        assertTrue(cl.get(4).get("reason").asText().contains("FiniteValues"), cl.toString());
        assertNull(cl.get(0).get("reason").textValue());

        Cli.Run few = fedavg(c, tmp.resolve("few"), "--bad-clients", "drop", "--reject-outliers", "3.5", "--min-clients", "4");
        assertEquals(2, few.exit());
        assertTrue(few.err().contains("MinClients"), few.err());
        assertFalse(Files.exists(tmp.resolve("few")));

        Path clipped = tmp.resolve("clipped");
        Cli.Run cr = fedavg(c, clipped, "--bad-clients", "drop", "--clip", "median");
        assertEquals(0, cr.exit(), cr.err());
        JsonNode cc = JSON.readTree(clipped.resolve(FedAvgJob.REPORT).toFile()).get("clients");
        assertEquals(1.0 / 1000, cc.get(3).get("clip_factor").asDouble(), 2e-4, "the 1000x update is clipped to the median norm");
    }

    /**
     * The one-read round (validation inside the aggregation pass) against the two-pass round (forced by --resume):
     * the same model bytes and spreads; the same update norms and variance-correction scales to 1e-10 relative: they
     * are double sums of ~2e7 squares taken in other pieces (steps instead of 4 Mi-element slices), whose rounding
     * bound is n·u ≈ 2e-9 (1e-12 seen); a NaN client dropped after the one read is aggregated away by the repair pass, and the
     * result is numpy's FedAvg of the others exactly.
     */
    @Test
    void oneReadRoundEqualsTheTwoPassRoundAndRepairsADroppedClient(@TempDir Path tmp) throws IOException {
        Path c = clients(tmp.resolve("clients"), 4);
        for (String[] opts : List.of(new String[0], new String[] {"--variance-correction", "follow-others"})) {
            String tag = opts.length == 0 ? "plain" : "vc";
            Path once = tmp.resolve("once-" + tag), twice = tmp.resolve("twice-" + tag);
            assertEquals(0, fedavg(c, once, opts).exit());
            String[] resume = Arrays.copyOf(opts, opts.length + 1);
            resume[opts.length] = "--resume";
            assertEquals(0, fedavg(c, twice, resume).exit());
            JsonNode r1 = JSON.readTree(once.resolve(FedAvgJob.REPORT).toFile()), r2 = JSON.readTree(twice.resolve(FedAvgJob.REPORT).toFile());
            assertEquals(1, r1.get("run").get("client_reads").asInt(), tag);
            assertEquals(2, r2.get("run").get("client_reads").asInt(), tag);
            byte[] m1 = Files.readAllBytes(once.resolve("model/model.safetensors")), m2 = Files.readAllBytes(twice.resolve("model/model.safetensors"));
            if (opts.length == 0) {
                assertArrayEquals(m2, m1, "plain FedAvg: the same sums in the same order, the same bytes");
            } else {
                // the correction's scale comes from those norms' kind of sums: an F32 value may round the other way
                assertEquals(m2.length, m1.length);
                java.nio.IntBuffer a = java.nio.ByteBuffer.wrap(m1).order(java.nio.ByteOrder.LITTLE_ENDIAN).asIntBuffer();
                java.nio.IntBuffer b = java.nio.ByteBuffer.wrap(m2).order(java.nio.ByteOrder.LITTLE_ENDIAN).asIntBuffer();
                long maxUlps = 0, differ = 0;
                for (int i = 0; i < a.limit(); i++) {
                    long dd = Math.abs((long) a.get(i) - b.get(i));
                    maxUlps = Math.max(maxUlps, dd);
                    if (dd != 0) differ++;
                }
                assertTrue(maxUlps <= 1, "vc: at most 1 ulp apart in any float32, got " + maxUlps);
                assertTrue(differ < a.limit() / 1000, "vc: few values round the other way: " + differ);
            }
            for (int k = 0; k < 4; k++) {
                double a = r1.get("clients").get(k).get("update_norm").asDouble(), b = r2.get("clients").get(k).get("update_norm").asDouble();
                assertEquals(b, a, 1e-10 * b, tag + " update norm of c" + k);
            }
            for (int t = 0; t < r1.get("tensors").size(); t++) {
                JsonNode a = r1.get("tensors").get(t), b = r2.get("tensors").get(t);
                assertEquals(b.get("client_spread").asDouble(), a.get("client_spread").asDouble(), 0.0, tag + " spread " + a.get("name"));
                if (b.has("correction_scale")) {
                    assertEquals(b.get("correction_scale").asDouble(), a.get("correction_scale").asDouble(), 1e-10, tag + " scale " + a.get("name"));
                }
            }
        }

        Path bad = clients(tmp.resolve("bad"), 5, "--nan", "c4");
        Path out = tmp.resolve("repaired");
        Cli.Run d = fedavg(bad, out, "--bad-clients", "drop");
        assertEquals(0, d.exit(), d.err());
        assertTrue(d.out().contains("aggregating the 4 others again") || d.err().contains("aggregating the 4 others again"), d.out() + d.err());
        assertEquals(0.0, check(bad, out, "fedavg", "c0,c1,c2,c3").get("max_rel_diff").asDouble(), 0.0, "FedAvg of the four finite clients");
        JsonNode rep = JSON.readTree(out.resolve(FedAvgJob.REPORT).toFile());
        assertEquals(2, rep.get("run").get("client_reads").asInt());
        assertTrue(rep.get("clients").get(4).get("reason").asText().contains("FiniteValues"), rep.get("clients").toString());
        assertEquals("dropped", rep.get("clients").get(4).get("status").asText());
    }

    @Test
    void fedAdamTwoRoundsFollowTheFormulaAndFedAvgMWithoutMomentumIsFedAvg(@TempDir Path tmp) throws IOException {
        Path c = clients(tmp.resolve("clients"), 3);
        Path r1 = tmp.resolve("r1"), r2 = tmp.resolve("r2");
        assertEquals(0, fedavg(c, r1, "--server-opt", "fedadam", "--server-opt-param", "eta=0.01").exit());
        ObjectMapper om = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode m2 = (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(c.resolve("manifest.json").toFile());
        m2.put("reference", r1.resolve("model").toString());
        Path manifest2 = Files.writeString(tmp.resolve("manifest2.json"), m2.toString());
        Cli.Run second = Cli.run("fedavg", "--manifest", manifest2.toString(), "--out", r2.toString(), "--server-opt", "fedadam",
                "--server-opt-param", "eta=0.01", "--server-state", r1.resolve("server_state").toString());
        assertEquals(0, second.exit(), second.err());
        JsonNode j = JSON.readTree(Python.script(Python.testScript("fed_check.py"), "adam", c.toString(), r1.toString(), r2.toString(),
                "0.01", "0.9", "0.99", "1e-9"));
        for (String k : List.of("round1", "m1", "v1", "round2")) {
            assertEquals(0.0, j.get(k).asDouble(), 2.5e-7, k + ": FedAdam with bias correction, state kept as F32 between rounds: " + j);
        }
        Cli.Run wrongState = Cli.run("fedavg", "--manifest", manifest2.toString(), "--out", tmp.resolve("bad").toString(), "--server-opt", "fedyogi",
                "--server-state", r1.resolve("server_state").toString());
        assertEquals(2, wrongState.exit());
        assertTrue(wrongState.err().contains("SameServerOptimizer"), wrongState.err());

        Path plain = tmp.resolve("plain"), m0 = tmp.resolve("m0");
        assertEquals(0, fedavg(c, plain).exit());
        assertEquals(0, fedavg(c, m0, "--server-opt", "fedavgm", "--server-opt-param", "momentum=0", "--server-opt-param", "eta=1").exit());
        assertEquals("", differingTensors(plain.resolve("model"), m0.resolve("model")), "FedAvgM with eta 1 and no momentum is FedAvg");
    }
}
