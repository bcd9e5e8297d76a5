package io.weightlab.jobs;

import io.weightlab.jobs.analysis.StatsJob;
import io.weightlab.jobs.federated.FedAvgJob;
import io.weightlab.common.fed.BadClients;
import io.weightlab.common.fed.Weighting;
import io.weightlab.jobs.weights.LoraInitJob;
import io.weightlab.jobs.weights.RescaleJob;
import io.weightlab.jobs.weights.RescaleJobTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.testing.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same stats job over the sharded fixture read from local disk, from an in-process HDFS (MiniDFSCluster)
 * and from an in-process S3-compatible server through s3a://: the result rows must be identical, and each
 * output is committed in place on its own storage.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public class RemoteStorageTest {
    static final String BUCKET = "weights";
    static final String ACCESS = "test-access-key";
    static final String SECRET = "test-secret-key-not-for-logs";
    static final ObjectMapper JSON = new ObjectMapper();

    MiniDFSCluster hdfs;
    S3Proxy s3;
    BlobStoreContext blobs;
    String hdfsUri;

    @BeforeAll
    void start() throws Exception {
        File base = Files.createTempDirectory("minidfs").toFile();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getAbsolutePath());
        hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
        hdfsUri = hdfs.getFileSystem().getUri().toString();

        blobs = ContextBuilder.newBuilder("transient").credentials(ACCESS, SECRET).build(BlobStoreContext.class);
        blobs.getBlobStore().createContainerInLocation(null, BUCKET);
        s3 = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS, SECRET)
                .v4MaxNonChunkedRequestSize(1L << 30).build();
        s3.start();
        for (int i = 0; i < 200 && !"STARTED".equals(s3.getState()); i++) Thread.sleep(25);
        Map<String, String> s3a = s3aSettings(s3.getPort());
        s3a.forEach((k, v) -> TestSpark.get().sparkContext().hadoopConfiguration().set(k, v));
    }

    static Map<String, String> s3aSettings(int port) {
        return Map.of(
                "fs.s3a.endpoint", "http://127.0.0.1:" + port,
                "fs.s3a.path.style.access", "true",
                "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "fs.s3a.access.key", ACCESS,
                "fs.s3a.secret.key", SECRET,
                "fs.s3a.endpoint.region", "us-east-1",
                "fs.s3a.connection.ssl.enabled", "false",
                "fs.s3a.change.detection.mode", "none");
    }

    @AfterAll
    void stop() throws Exception {
        if (s3 != null) s3.stop();
        if (blobs != null) blobs.close();
        if (hdfs != null) hdfs.shutdown(true);
    }

    private static void upload(Configuration conf, java.nio.file.Path dir, String target) throws IOException {
        Path dst = new Path(target);
        FileSystem fs = dst.getFileSystem(conf);
        fs.mkdirs(dst);
        try (var files = Files.list(dir)) {
            for (java.nio.file.Path f : files.toList()) {
                // through an output stream, as our own writers write (S3A block upload)
                try (var out = fs.create(new Path(dst, f.getFileName().toString()), true)) {
                    Files.copy(f, out);
                }
            }
        }
    }

    /** No output file, and nothing printed, may contain the S3 credentials. */
    private static void assertNoSecrets(Configuration conf, String out) throws IOException {
        Path dir = new Path(out);
        FileSystem fs = dir.getFileSystem(conf);
        var it = fs.listFiles(dir, true);
        int files = 0;
        while (it.hasNext()) {
            Path f = it.next().getPath();
            try (FSDataInputStream in = fs.open(f)) {
                String text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertFalse(text.contains(SECRET) || text.contains(ACCESS), "credentials leaked into " + f);
            }
            files++;
        }
        assertTrue(files >= 5, "expected the job's output files under " + out);
    }

    private static JsonNode rows(Configuration conf, String out) throws IOException {
        assertNoSecrets(conf, out);
        Path p = new Path(out, "stats.json");
        FileSystem fs = p.getFileSystem(conf);
        assertTrue(fs.exists(new Path(out, StagedOutput.SUCCESS)), out + " has no _SUCCESS");
        assertFalse(fs.exists(new Path(out, StagedOutput.TEMPORARY)), out + " still has its staging directory");
        assertTrue(fs.exists(new Path(out, "stats.parquet")), out + " has no parquet table");
        try (FSDataInputStream in = fs.open(p)) {
            JsonNode doc = JSON.readTree(in);
            String text = doc.toString();
            assertFalse(text.contains(SECRET) || text.contains(ACCESS), "credentials leaked into " + p);
            return doc.get("rows");
        }
    }

    @Test
    void localHdfsAndS3GiveIdenticalResults() throws IOException {
        java.nio.file.Path fixture = Fixtures.dir("all-minilm-l6-v2-q-sharded");
        Configuration conf = TestSpark.get().sparkContext().hadoopConfiguration();
        String hdfsIn = hdfsUri + "/models/minilm-q";
        String s3In = "s3a://" + BUCKET + "/models/minilm-q";
        upload(conf, fixture, hdfsIn);
        upload(conf, fixture, s3In);

        java.nio.file.Path localOut = Files.createTempDirectory("stats-local");
        Files.delete(localOut);
        String[][] runs = {
                {fixture.toUri().toString(), localOut.toUri().toString()},
                {hdfsIn, hdfsUri + "/reports/minilm-q"},
                {s3In, "s3a://" + BUCKET + "/reports/minilm-q"},
        };
        JsonNode reference = null;
        for (String[] r : runs) {
            java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
            StatsJob.Result res = StatsJob.run(TestSpark.context(), new StatsJob.Options(r[0], r[1], false, 1 << 20, true, new int[] {128, 128}),
                    new java.io.PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8));
            String printed = console.toString(java.nio.charset.StandardCharsets.UTF_8);
            System.out.print(printed);
            assertFalse(printed.contains(SECRET) || printed.contains(ACCESS), "credentials printed on the console");
            assertEquals(180, res.tensors().size(), r[0]);
            JsonNode rows = rows(conf, r[1]);
            if (reference == null) {
                reference = rows;
                continue;
            }
            assertEquals(reference, rows, "results from " + r[0] + " differ from the local read");
        }
    }

    private static java.nio.file.Path download(Configuration conf, String dir) throws IOException {
        java.nio.file.Path local = Files.createTempDirectory("download");
        Path d = new Path(dir);
        FileSystem fs = d.getFileSystem(conf);
        for (var st : fs.listStatus(d)) {
            if (!st.isFile()) continue;
            try (FSDataInputStream in = fs.open(st.getPath())) {
                Files.copy(in, local.resolve(st.getPath().getName()));
            }
        }
        return local;
    }

    /**
     * A fleet on S3 and HDFS, inventoried with --out and then --append: the second run finds both checkpoints
     * unchanged from their listings alone (no header read), which needs the identity from a listing (S3: length and
     * ETag) to equal the one from each file's own status; the identity is also checked directly.
     */
    @Test
    void fleetAppendOnS3AndHdfsRecognisesUnchangedCheckpointsFromTheirListings() throws IOException {
        java.nio.file.Path sharded = Fixtures.dir("all-minilm-l6-v2-q-sharded"), single = Fixtures.dir("all-minilm-l6-v2-q");
        Configuration conf = TestSpark.get().sparkContext().hadoopConfiguration();
        for (String root : new String[] {"s3a://" + BUCKET + "/fleet", hdfsUri + "/fleet"}) {
            upload(conf, sharded, root + "/runs/a/checkpoint-100");
            upload(conf, single, root + "/runs/b/checkpoint-100");
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("inspect", root + "/runs/*/checkpoint-*", "--fleet", "--out", root + "/inventory", "--summary"));
            s3aSettings(s3.getPort()).forEach((k, v) -> args.addAll(java.util.List.of("--conf", "spark.hadoop." + k + "=" + v)));
            Cli.Run first = Cli.run(args.toArray(String[]::new));
            assertEquals(0, first.exit(), first.err());
            assertTrue(first.out().contains("2 checkpoint(s) analysed, 0 unchanged"), first.out());
            args.add("--append");
            Cli.Run again = Cli.run(args.toArray(String[]::new));
            assertEquals(0, again.exit(), again.err());
            assertTrue(again.out().contains("0 checkpoint(s) analysed, 2 unchanged"), root + ": " + again.out());
            for (String ck : new String[] {root + "/runs/a/checkpoint-100", root + "/runs/b/checkpoint-100"}) {
                io.weightlab.common.io.CheckpointCatalog.Located l = io.weightlab.common.io.CheckpointCatalog.locate(conf, ck);
                assertEquals(io.weightlab.common.fleet.CheckpointIdentity.of(conf, io.weightlab.common.io.CheckpointCatalog.read(l)),
                        io.weightlab.common.fleet.CheckpointIdentity.of(l.files()), ck + ": identity from the listing and from each file's status");
            }
        }
    }

    @Test
    void rescaleWritesTheSameCheckpointToLocalHdfsAndS3() throws IOException {
        io.weightlab.common.testing.Python.require("torch", "transformers", "safetensors");
        java.nio.file.Path in = RescaleJobTest.llama(Files.createTempDirectory("llama"), "bfloat16");
        Configuration conf = TestSpark.get().sparkContext().hadoopConfiguration();
        String hdfsIn = hdfsUri + "/models/llama", s3In = "s3a://" + BUCKET + "/models/llama";
        upload(conf, in, hdfsIn);
        upload(conf, in, s3In);
        java.nio.file.Path localOut = Files.createTempDirectory("rescale-local");
        Files.delete(localOut);
        java.util.List<String> rules = java.util.List.of("layers.0.*=tvr:target_std=0.03", "q_proj=gg:beta=1.5", "k_proj=orthogonal", "mlp.*=truncnormal:std=xavier");
        String[][] runs = {
                {in.toUri().toString(), localOut.toUri().toString()},
                {hdfsIn, hdfsUri + "/rescaled/llama"},
                {s3In, "s3a://" + BUCKET + "/rescaled/llama"},
        };
        java.nio.file.Path reference = null;
        for (String[] r : runs) {
            java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
            RescaleJob.run(TestSpark.context(), new RescaleJob.Options(r[0], r[1], false, rules, 5, null, 2_000_000L, null, 1 << 20),
                    new java.io.PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8));
            String printed = console.toString(java.nio.charset.StandardCharsets.UTF_8);
            System.out.print(printed);
            assertFalse(printed.contains(SECRET) || printed.contains(ACCESS), "credentials printed on the console");
            assertNoSecrets(conf, r[1]);
            FileSystem fs = new Path(r[1]).getFileSystem(conf);
            assertTrue(fs.exists(new Path(r[1], StagedOutput.SUCCESS)), r[1] + " has no _SUCCESS");
            assertTrue(fs.exists(new Path(r[1], "model.safetensors.index.json")), r[1] + " has no index");
            assertFalse(fs.exists(new Path(r[1], StagedOutput.TEMPORARY)), r[1] + " still has its staging directory");
            java.nio.file.Path got = download(conf, r[1]);
            if (reference == null) {
                reference = got;
                continue;
            }
            for (java.nio.file.Path f : Files.list(reference).filter(p -> p.getFileName().toString().startsWith("model")).toList()) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(got.resolve(f.getFileName())),
                        r[1] + ": " + f.getFileName() + " differs from the local output");
            }
            JsonNode loaded = RescaleJobTest.check("load", got.toString(), "LlamaForCausalLM");
            assertEquals(0, loaded.get("missing").size() + loaded.get("unexpected").size(), r[1] + ": " + loaded);
        }
    }

    @Test
    void loraInitOnAShardedBaseGivesTheSameAdapterAndResidualOnLocalHdfsAndS3() throws IOException {
        io.weightlab.common.testing.Python.require("torch", "transformers", "safetensors");
        java.nio.file.Path tmp = Files.createTempDirectory("lora-remote");
        java.nio.file.Path llama = RescaleJobTest.llama(tmp, "float32");
        java.nio.file.Path sharded = tmp.resolve("sharded");
        RescaleJob.run(TestSpark.context(), new RescaleJob.Options(llama.toString(), sharded.toString(), false, java.util.List.of("*=keep"), 0, null,
                3_000_000L, null, 1 << 20), System.out);
        Configuration conf = TestSpark.get().sparkContext().hadoopConfiguration();
        String hdfsIn = hdfsUri + "/models/llama-sharded", s3In = "s3a://" + BUCKET + "/models/llama-sharded";
        upload(conf, sharded, hdfsIn);
        upload(conf, sharded, s3In);
        java.nio.file.Path localOut = tmp.resolve("lora-local");
        String[][] runs = {
                {sharded.toUri().toString(), localOut.toUri().toString()},
                {hdfsIn, hdfsUri + "/lora/llama"},
                {s3In, "s3a://" + BUCKET + "/lora/llama"},
        };
        java.nio.file.Path reference = null;
        for (String[] r : runs) {
            LoraInitJob.Result res = LoraInitJob.run(TestSpark.context(), new LoraInitJob.Options(r[0], r[1], false, "pissa", 8, 16, false,
                    java.util.List.of("q_proj", "v_proj", "down_proj"), null, null, 0, 3_000_000L, "CAUSAL_LM", null, null, null, null, null, false), System.out);
            assertEquals(12, res.modules().size());
            assertNoSecrets(conf, r[1]);
            FileSystem fs = new Path(r[1]).getFileSystem(conf);
            assertTrue(fs.exists(new Path(r[1], StagedOutput.SUCCESS)));
            assertFalse(fs.exists(new Path(r[1], StagedOutput.TEMPORARY)), "scratch factors and staging are gone");
            assertTrue(fs.exists(new Path(r[1], "residual/model.safetensors.index.json")), "the residual is sharded like its base");
            java.nio.file.Path adapter = download(conf, r[1] + "/adapter"), residual = download(conf, r[1] + "/residual");
            if (reference == null) {
                reference = tmp.resolve("ref");
                Files.createDirectories(reference);
                Files.move(adapter, reference.resolve("adapter"));
                Files.move(residual, reference.resolve("residual"));
                continue;
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(reference.resolve("adapter/adapter_model.safetensors")),
                    Files.readAllBytes(adapter.resolve("adapter_model.safetensors")), r[1] + ": adapter differs from the local one");
            for (java.nio.file.Path f : Files.list(reference.resolve("residual")).filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList()) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(residual.resolve(f.getFileName())),
                        r[1] + ": residual " + f.getFileName() + " differs");
            }
        }
    }

    @Test
    void fedavgRoundReadsClientsAndWritesTheGlobalModelOnLocalHdfsAndS3() throws IOException {
        io.weightlab.common.testing.Python.require("torch", "transformers", "safetensors", "numpy");
        java.nio.file.Path tmp = Files.createTempDirectory("fed-remote");
        java.nio.file.Path llama = RescaleJobTest.llama(tmp, "float32");
        java.nio.file.Path clients = tmp.resolve("clients");
        io.weightlab.common.testing.Python.script(io.weightlab.common.testing.Python.testScript("fed_check.py"), "make", llama.toString(),
                clients.toString(), "3", "--nan", "c2");
        Configuration conf = TestSpark.get().sparkContext().hadoopConfiguration();
        String[] roots = {clients.toUri().toString(), hdfsUri + "/fed/round-1", "s3a://" + BUCKET + "/fed/round-1"};
        String[] refs = {llama.toUri().toString(), hdfsUri + "/fed/global-0", "s3a://" + BUCKET + "/fed/global-0"};
        java.nio.file.Path reference = null;
        for (int i = 0; i < roots.length; i++) {
            if (i > 0) {
                upload(conf, llama, refs[i]);
                for (String c : new String[] {"c0", "c1", "c2"}) upload(conf, clients.resolve(c), roots[i] + "/" + c);
            }
            String manifest = "{\"round\": 1, \"reference\": \"" + refs[i] + "\", \"clients\": ["
                    + "{\"id\": \"c0\", \"uri\": \"" + roots[i] + "/c0\", \"examples\": 100},"
                    + "{\"id\": \"c1\", \"uri\": \"" + roots[i] + "/c1\", \"examples\": 200},"
                    + "{\"id\": \"c2\", \"uri\": \"" + roots[i] + "/c2\", \"examples\": 300}]}";
            Path mf = new Path(roots[i] + "/manifest-" + i + ".json");
            try (var os = mf.getFileSystem(conf).create(mf, true)) {
                os.write(manifest.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            String out = i == 0 ? tmp.resolve("global-1").toUri().toString() : roots[i].replace("round-1", "global-1");
            Map<String, Object> report = FedAvgJob.run(TestSpark.context(), new FedAvgJob.Options(mf.toString(), null, out, false, "fedavg", Map.of(), Weighting.EXAMPLES,
                    null, 0.5, null, null, "2d", null, null, BadClients.DROP, 2, 0, null, 5_000_000L, 1 << 20, null, null, false, null), System.out);
            assertTrue(report.toString().contains("FiniteValues"), "c2's NaN is reported");
            assertNoSecrets(conf, out);
            FileSystem fs = new Path(out).getFileSystem(conf);
            assertTrue(fs.exists(new Path(out, StagedOutput.SUCCESS)));
            assertFalse(fs.exists(new Path(out, StagedOutput.TEMPORARY)));
            java.nio.file.Path model = download(conf, out + "/model");
            if (reference == null) {
                reference = model;
                continue;
            }
            for (java.nio.file.Path f : Files.list(reference).filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList()) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(model.resolve(f.getFileName())),
                        out + ": " + f.getFileName() + " differs from the local round");
            }
        }
        // numpy's FedAvg of the two finite clients, on the local result
        String check = io.weightlab.common.testing.Python.script(io.weightlab.common.testing.Python.testScript("fed_check.py"), "check",
                clients.toString(), tmp.resolve("global-1").toString(), "fedavg", "c0,c1");
        assertTrue(check.contains("\"max_rel_diff\": 0.0"), check);
    }
}
