package io.weightlab.jobs.weights;

import io.weightlab.jobs.Cli;
import io.weightlab.jobs.CliTest;
import io.weightlab.jobs.FaultyFileSystem;
import io.weightlab.jobs.TestSpark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab rescale} end to end on local Spark: the TVR and initialisation oracles of docs/algorithms.md §1, §2.3,
 * §6 checked with torch/numpy/scipy on the written files, loading in transformers, byte identity across
 * partitionings and re-runs, and a task that dies half way leaving no result.
 */
public class RescaleJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHECK = "rescale_check.py";

    @BeforeAll
    static void python() {
        Python.require("numpy", "scipy", "torch", "safetensors", "transformers");
    }

    public static JsonNode check(String... args) throws IOException {
        return JSON.readTree(Python.script(Python.testScript(CHECK), args));
    }

    static Cli.Run rescale(String... args) {
        List<String> a = new ArrayList<>(List.of("rescale"));
        a.addAll(List.of(args));
        return Cli.run(a.toArray(String[]::new));
    }

    /** A small random Llama in transformers' own layout and names, bf16 unless asked otherwise. */
    public static Path llama(Path dir, String dtype) {
        Path out = dir.resolve("llama-" + dtype);
        Python.script(Python.testScript("make_llama.py"), out.toString(), "--dtype", dtype);
        return out;
    }

    @Test
    void tvrOnMiniLmMeetsTheOracleIsIdempotentAndLoadsInTransformers(@TempDir Path tmp) throws IOException {
        Path in = Fixtures.dir("all-minilm-l6-v2");
        Path out = tmp.resolve("tvr"), again = tmp.resolve("tvr-again");
        Cli.Run r = rescale(in.toString(), "--out", out.toString(), "--apply", "*=tvr:target_std=0.02");
        assertEquals(0, r.exit(), r.err());
        JsonNode t = check("tensors", in.toString(), out.toString());
        JsonNode prov = JSON.readTree(out.resolve(RescaleJob.PROVENANCE).toFile());
        int rescaled = 0, zeroedBiases = 0, kept = 0;
        for (JsonNode p : prov.get("tensors")) {
            String name = p.get("name").asText();
            JsonNode c = t.get(name);
            if (p.get("action").asText().equals("kept")) {
                assertTrue(c.get("identical").asBoolean(), name + " is untouched and must be byte-identical");
                kept++;
            } else if (name.endsWith(".bias")) {
                assertEquals(0.0, c.get("out_max_abs").asDouble(), 0.0, name + ": the bias of a rescaled module is zeroed");
                zeroedBiases++;
            } else {
                assertTrue(c.get("in_std").asDouble() > 1.2 * 0.02, name + " was rescaled though its ratio is <= 1.2");
                // fp64 before the cast: 1e-9; after the float32 cast (numpy on the file): 1e-6 relative
                assertEquals(0.02, p.get("after_before_cast").get("std_sample").asDouble(), 0.02 * 1e-9, name);
                assertEquals(0.02, c.get("out_std").asDouble(), 0.02 * 1e-6, name + " std(ddof=1) after TVR");
                assertEquals(c.get("in_mean").asDouble(), c.get("out_mean").asDouble(), 0.02 * 1e-6, name + " mean is preserved");
                rescaled++;
            }
        }
        assertEquals(36, rescaled, "the 36 block matrices of MiniLM are all above 1.2 x 0.02");
        assertEquals(36, zeroedBiases);
        assertEquals(30, kept, "embeddings, norms, position ids stay as they were");

        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(Files.readAllBytes(out.resolve("model.safetensors")));
        JsonNode shard = prov.get("run").get("shards").get(0);
        assertEquals(String.format("%08x", crc.getValue()), shard.get("crc32c").asText(), "provenance CRC-32C of the written file");
        assertEquals(Files.size(out.resolve("model.safetensors")), shard.get("bytes").asLong());

        // Idempotence: TVR on its own output changes nothing, down to the bytes of the file.
        assertEquals(0, rescale(out.toString(), "--out", again.toString(), "--apply", "*=tvr:target_std=0.02").exit());
        assertArrayEquals(Files.readAllBytes(out.resolve("model.safetensors")), Files.readAllBytes(again.resolve("model.safetensors")));

        JsonNode loaded = check("load", out.toString(), "BertModel");
        assertEquals(0, loaded.get("missing").size(), loaded.toString());
        assertEquals(0, loaded.get("unexpected").size(), loaded.toString());
        assertTrue(loaded.get("finite").asBoolean());
        assertEquals(Files.readString(in.resolve("config.json")), Files.readString(out.resolve("config.json")), "config.json copied unchanged");
    }

    @Test
    void initialisersMeetTheirOraclesOnALlamaAndItStillLoads(@TempDir Path tmp) throws IOException {
        Path in = llama(tmp, "bfloat16");
        Path out = tmp.resolve("init");
        Cli.Run r = rescale(in.toString(), "--out", out.toString(), "--out-dtype", "F32", "--seed", "11",
                "--apply", "o_proj=idinit", "--apply", "q_proj=orthogonal:gain=1.5", "--apply", "k_proj=gg:beta=1.3,std=0.02",
                "--apply", "mlp.*=lir:initializer_range=0.02", "--apply", "v_proj=kaiming_normal", "--apply", "lm_head=target-std:std=0.01");
        assertEquals(0, r.exit(), r.err());
        JsonNode t = check("tensors", in.toString(), out.toString());
        for (int layer = 0; layer < 4; layer++) {
            String p = "model.layers." + layer + ".";
            JsonNode q = check("matrix", out.toString(), p + "self_attn.q_proj.weight", "1.5");
            assertEquals(0.0, q.get("orth_err").asDouble(), 1e-6, "W Wᵀ = gain² I (float32 output)");
            JsonNode o = check("matrix", out.toString(), p + "self_attn.o_proj.weight");
            assertEquals(0.0, o.get("pattern_err").asDouble(), 0.0, "IDInit pattern is exact");
            assertEquals(1e-6, o.get("w00").asDouble(), 1e-6 * 1e-7, "last layer of the residual branch: IDIZ with eps");
            JsonNode k = check("matrix", out.toString(), p + "self_attn.k_proj.weight");
            double n = k.get("n").asDouble();
            assertEquals(1.0, k.get("std").asDouble() / 0.02, 4 * 0.5 * Math.sqrt(3.5 / n), "GG std (kurtosis < 4.5)");
            assertEquals(1.3, k.get("beta_moment").asDouble(), 0.03 * 1.3 + 4 / Math.sqrt(n), "refit beta");
            for (String mlp : List.of("gate_proj", "up_proj", "down_proj")) {
                JsonNode m = t.get(p + "mlp." + mlp + ".weight");
                double target = 0.02 / Math.sqrt(layer + 1);
                assertEquals(1.0, m.get("out_std").asDouble() / target, 3 / Math.sqrt(2 * m.get("n").asDouble()), "LIR std in block " + (layer + 1));
            }
            JsonNode v = t.get(p + "self_attn.v_proj.weight");
            assertEquals(1.0, v.get("out_std").asDouble() / (Math.sqrt(2) / Math.sqrt(256)), 3 / Math.sqrt(2 * v.get("n").asDouble()), "kaiming std");
            JsonNode norm = t.get(p + "input_layernorm.weight");
            assertTrue(norm.get("same_values").asBoolean() && norm.get("out_dtype").asText().equals("torch.float32"), "norm only cast to F32");
        }
        assertEquals(0.01, t.get("lm_head.weight").get("out_std").asDouble(), 0.01 * 1e-6);
        assertEquals(t.get("lm_head.weight").get("in_mean").asDouble(), t.get("lm_head.weight").get("out_mean").asDouble(), 1e-9);
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"float32\""), "config dtype follows --out-dtype");
        JsonNode loaded = check("load", out.toString(), "LlamaForCausalLM");
        assertEquals("[]", loaded.get("missing").toString() + "", loaded.toString());
        assertEquals(0, loaded.get("unexpected").size(), loaded.toString());
        assertEquals("torch.float32", loaded.get("dtype").asText());
        assertTrue(loaded.get("finite").asBoolean());
    }

    /**
     * svd-smooth and svd-sharpen through the job (docs/algorithms.md §34), against numpy's SVD of the stored float32
     * matrices: the written values are the float32 rounding of numpy's W' (relative Frobenius error at most 2⁻²⁴,
     * plus 1e-12 for two double SVDs), and the provenance's k and removed energy are numpy's (1e-10).
     */
    @Test
    void svdSmoothAndSharpenMatchNumpysTruncatedSvd(@TempDir Path tmp) throws IOException {
        Path in = llama(tmp, "float32");
        Path out = tmp.resolve("svd");
        Cli.Run r = rescale(in.toString(), "--out", out.toString(), "--apply", "q_proj=svd-smooth:keep=topk,k=8",
                "--apply", "up_proj=svd-smooth:keep=fraction,fraction=0.25", "--apply", "k_proj=svd-smooth",
                "--apply", "down_proj=svd-sharpen:remove=topk,k=3", "--apply", "v_proj=svd-sharpen");
        assertEquals(0, r.exit(), r.err());
        JsonNode prov = JSON.readTree(out.resolve(RescaleJob.PROVENANCE).toFile());
        List<String> specs = new ArrayList<>();
        Map<String, JsonNode> facts = new TreeMap<>();
        for (JsonNode p : prov.get("tensors")) {
            JsonNode f = p.get("facts");
            if (f == null) continue;
            String name = p.get("name").asText();
            facts.put(name, f);
            boolean sharpen = p.get("rule").asText().contains("svd-sharpen");
            specs.add(name + ":" + (sharpen ? "sharpen" : "smooth") + ":" + f.get("k").asInt());
        }
        assertEquals(4 * 5, facts.size(), "five matrices in each of the four blocks, nothing else");
        List<String> args = new ArrayList<>(List.of("svd", in.toString(), out.toString()));
        args.addAll(specs);
        JsonNode ref = check(args.toArray(String[]::new));
        double worst = 0;
        for (Map.Entry<String, JsonNode> e : facts.entrySet()) {
            String name = e.getKey();
            JsonNode f = e.getValue(), n = ref.get(name);
            worst = Math.max(worst, n.get("rel_frobenius").asDouble());
            int expectedK = name.contains("q_proj") ? 8 : name.contains("up_proj") ? 64 /* floor(0.25 x 256) */ : name.contains("down_proj") ? 3 : f.get("k").asInt();
            assertEquals(expectedK, f.get("k").asInt(), name);
            assertEquals(n.get("rank").asInt(), f.get("rank").asInt(), name);
            assertTrue(n.get("rel_frobenius").asDouble() <= Math.pow(2, -24) + 1e-12, name + " vs numpy: " + n);
            assertEquals(n.get("energy_removed").asDouble(), f.get("energy_removed").asDouble(), 1e-10, name);
        }
        System.out.printf("[svd-edit test] largest relative Frobenius error vs numpy: %.3g (2^-24 = %.3g)%n", worst, Math.pow(2, -24));
        // Gaussian weights have no spike above the MP edge and no trap: k_proj and v_proj are left as they were
        for (String name : facts.keySet()) {
            if (name.contains("k_proj")) assertEquals(0, facts.get(name).get("mp_num_spikes").asInt(), name);
            if (name.contains("v_proj")) assertEquals(0, facts.get(name).get("traps").asInt(), name);
        }
    }

    static Map<String, byte[]> tensorBytes(Path dir) throws IOException {
        Configuration conf = new Configuration();
        Map<String, byte[]> out = new TreeMap<>();
        var ckpt = CheckpointCatalog.open(conf, dir.toString());
        try (var reader = new io.weightlab.common.io.RangeReader(conf)) {
            for (var t : ckpt.tensors()) {
                byte[] b = new byte[(int) t.byteLength()];
                reader.read(t.file(), t.dataBegin(), b, 0, b.length);
                out.put(t.name() + " " + t.dtype() + t.shapeString(), b);
            }
        }
        return out;
    }

    static void assertSameTensors(Map<String, byte[]> a, Map<String, byte[]> b) {
        assertEquals(a.keySet(), b.keySet());
        for (Iterator<String> it = a.keySet().iterator(); it.hasNext(); ) {
            String k = it.next();
            assertArrayEquals(a.get(k), b.get(k), k);
        }
    }

    static final String[] MIXED = {"--apply", "layers.0.*=tvr:target_std=0.03", "--apply", "q_proj=gg:beta=1.5", "--apply", "k_proj=orthogonal",
            "--apply", "mlp.*=truncnormal:std=xavier", "--seed", "5"};

    static String[] with(String... extra) {
        List<String> a = new ArrayList<>(List.of(MIXED));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void sameBytesHoweverItIsPartitionedAndAfterAKilledTask(@TempDir Path tmp) throws IOException {
        Path in = llama(tmp, "bfloat16");
        Path one = tmp.resolve("one"), many = tmp.resolve("many"), rerun = tmp.resolve("rerun"), failed = tmp.resolve("failed");
        List<String> a = new ArrayList<>(List.of(in.toString(), "--out", one.toString()));
        a.addAll(List.of(with()));
        assertEquals(0, rescale(a.toArray(String[]::new)).exit());
        List<String> b = new ArrayList<>(List.of(in.toString(), "--out", many.toString(), "--max-shard-size", "700KB", "--slice-mb", "1"));
        b.addAll(List.of(with()));
        assertEquals(0, rescale(b.toArray(String[]::new)).exit());
        assertTrue(Files.exists(many.resolve("model.safetensors.index.json")), "several shards and their index");
        assertTrue(Files.list(many).filter(p -> p.getFileName().toString().endsWith(".safetensors")).count() >= 5);
        assertSameTensors(tensorBytes(one), tensorBytes(many));

        // A task that dies half way through its shard fails the job: no index, no _SUCCESS, readers refuse.
        String victim = Files.list(many).map(p -> p.getFileName().toString()).filter(n -> n.startsWith("model-00002-of-")).findFirst().orElseThrow();
        List<String> f = new ArrayList<>(List.of(in.toString(), "--out", "faulty://" + failed, "--max-shard-size", "700KB",
                "--conf", "spark.hadoop.fs.faulty.impl=" + FaultyFileSystem.class.getName(),
                "--conf", "spark.hadoop.fs.faulty.impl.disable.cache=true",
                "--conf", "spark.hadoop." + FaultyFileSystem.FAIL_FILE_KEY + "=" + victim));
        f.addAll(List.of(with()));
        Cli.Run dead = rescale(f.toArray(String[]::new));
        assertTrue(dead.exit() != 0, "the injected failure must fail the job");
        assertTrue(dead.err().contains(victim), dead.err());
        assertFalse(Files.exists(failed.resolve(StagedOutput.SUCCESS)));
        assertFalse(Files.exists(failed.resolve("model.safetensors.index.json")));
        if (Files.exists(failed)) {
            // What the abort leaves depends on when the killed attempt stops: staging files (IncompleteOutput) or an
            // empty directory (no checkpoint there). Either way a reader must refuse it, naming the directory.
            RuntimeException refused = assertThrows(RuntimeException.class, () -> CheckpointCatalog.open(new Configuration(), failed.toString()));
            assertTrue(refused instanceof CheckpointFormatException || refused instanceof UsageException, refused.toString());
            assertTrue(refused.getMessage().contains(failed.getFileName().toString()), refused.getMessage());
        }
        TestSpark.get().sparkContext().hadoopConfiguration().unset(FaultyFileSystem.FAIL_FILE_KEY);
        List<String> again = new ArrayList<>(List.of(in.toString(), "--out", failed.toString(), "--max-shard-size", "700KB"));
        again.addAll(List.of(with()));
        assertEquals(0, rescale(again.toArray(String[]::new)).exit(), "re-running completes the output");
        List<String> c = new ArrayList<>(List.of(in.toString(), "--out", rerun.toString(), "--max-shard-size", "700KB"));
        c.addAll(List.of(with()));
        assertEquals(0, rescale(c.toArray(String[]::new)).exit());
        for (Path p : Files.list(many).filter(p -> p.getFileName().toString().startsWith("model")).toList()) {
            assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(rerun.resolve(p.getFileName())), "re-run differs: " + p.getFileName());
            assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(failed.resolve(p.getFileName())), "completed run differs: " + p.getFileName());
        }
        JsonNode loaded = check("load", many.toString(), "LlamaForCausalLM");
        assertEquals(0, loaded.get("missing").size() + loaded.get("unexpected").size(), loaded.toString());
    }

    @Test
    void badInputFailsWithOneLineNamingTheTensorAndLeavesNothing(@TempDir Path tmp) throws IOException {
        Path nan = CliTest.nanFile(tmp);
        Path out = tmp.resolve("out");
        Cli.Run r = rescale(nan.toString(), "--out", out.toString(), "--apply", "*=tvr");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("model.layers.0.mlp.up_proj.weight") && r.err().contains("FiniteValues"), r.err());
        assertFalse(Files.exists(out));

        Cli.Run q = rescale(Fixtures.dir("all-minilm-l6-v2-q").toString(), "--out", out.toString(), "--apply", "*=tvr");
        assertEquals(2, q.exit(), q.err());
        assertTrue(q.err().contains("quantized"), q.err());
        assertFalse(Files.exists(out));

        Cli.Run u = rescale(nan.toString(), "--out", out.toString(), "--apply", "*=tvr:traget_std=1");
        assertEquals(2, u.exit());
        assertTrue(u.err().contains("traget_std"), u.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void anotherModelsStatsAndMeasuredVariancesDriveTheRescale(@TempDir Path tmp) throws IOException {
        Path ref = llama(tmp, "float32");
        Path refStats = tmp.resolve("ref-stats");
        assertEquals(0, Cli.run("stats", ref.toString(), "--out", refStats.toString()).exit());
        // A second model: the reference re-initialised at std 0.05, then given back the reference's per-tensor profile.
        Path other = tmp.resolve("other"), profiled = tmp.resolve("profiled"), prior = tmp.resolve("prior"), lsuv = tmp.resolve("lsuv");
        assertEquals(0, rescale(ref.toString(), "--out", other.toString(), "--apply", "*=normal:std=0.05").exit());
        assertEquals(0, rescale(other.toString(), "--out", profiled.toString(),
                "--apply", "*=target-std:from=" + refStats.resolve("stats.json")).exit());
        JsonNode refRows = JSON.readTree(refStats.resolve("stats.json").toFile()).get("rows");
        JsonNode t = check("tensors", other.toString(), profiled.toString());
        int checked = 0;
        for (JsonNode row : refRows) {
            if (!row.get("level").asText().equals("tensor") || row.get("shape").size() < 2) continue;
            String name = row.get("name").asText();
            double want = row.get("std_sample").asDouble();
            assertEquals(want, t.get(name).get("out_std").asDouble(), want * 1e-6, name + " takes the reference's std");
            checked++;
        }
        assertEquals(4 * 7 + 2, checked, "every matrix of the 4-block Llama");

        // GG prior: beta taken from the reference's fitted shapes (Gaussian weights: beta ~ 2)
        assertEquals(0, rescale(ref.toString(), "--out", prior.toString(), "--apply",
                "q_proj=gg:beta_from=" + refStats.resolve("stats.json") + ",std=0.02").exit());
        JsonNode q = check("matrix", prior.toString(), "model.layers.2.self_attn.q_proj.weight");
        assertEquals(2.0, q.get("beta_moment").asDouble(), 0.1, "GG prior from a Gaussian reference");

        // LSUV: W / sqrt(v) exactly, v from a file keyed by module name
        Path vars = tmp.resolve("variances.json");
        Files.writeString(vars, "{\"model.layers.1.mlp.up_proj\": 4.0, \"model.layers.1.mlp.down_proj.weight\": 0.25}");
        assertEquals(0, rescale(ref.toString(), "--out", lsuv.toString(), "--apply", "layers.1.mlp.up_proj=lsuv:variances=" + vars,
                "--apply", "layers.1.mlp.down_proj=lsuv:variances=" + vars).exit());
        JsonNode l = check("tensors", ref.toString(), lsuv.toString());
        JsonNode up = l.get("model.layers.1.mlp.up_proj.weight"), down = l.get("model.layers.1.mlp.down_proj.weight");
        assertEquals(up.get("in_std").asDouble() / 2, up.get("out_std").asDouble(), up.get("in_std").asDouble() * 1e-6);
        assertEquals(down.get("in_std").asDouble() * 2, down.get("out_std").asDouble(), down.get("in_std").asDouble() * 1e-6);
        assertTrue(l.get("model.layers.1.mlp.gate_proj.weight").get("identical").asBoolean());
        Cli.Run missing = rescale(ref.toString(), "--out", tmp.resolve("x").toString(), "--apply", "mlp.*=lsuv:variances=" + vars);
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("no variance for 'model.layers.0.mlp.down_proj'"), missing.err());
    }
}
