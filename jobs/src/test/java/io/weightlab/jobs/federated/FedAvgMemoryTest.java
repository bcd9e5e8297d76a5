package io.weightlab.jobs.federated;

import io.weightlab.jobs.StandaloneClusterTest;
import io.weightlab.jobs.weights.RescaleJobTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory does not grow with the number of clients: the same round with 4 and with 32 clients runs in a separate JVM
 * whose heap is fixed at 200 MB (driver and local executors together), although the 32 clients hold ~400 MB of
 * float32 weights, and the result equals numpy's FedAvg. The report's heap pool peaks are printed for both.
 * (spark.testing.memory only lifts Spark's start-up floor of 450 MB of heap; the JVM's -Xmx is what limits.)
 */
public class FedAvgMemoryTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "transformers", "safetensors");
    }

    static JsonNode round(Path manifest, Path out, Path log) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(StandaloneClusterTest.jvmFlags());
        cmd.addAll(List.of("-Xmx200m", "-cp", System.getProperty("java.class.path"), "io.weightlab.jobs.WeightLab", "fedavg",
                "--manifest", manifest.toString(), "--out", out.toString(), "--master", "local[2]", "--memory-budget", "8MiB",
                "--conf", "spark.testing.memory=536870912", "--conf", "spark.ui.enabled=false"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "round did not finish");
        assertEquals(0, p.exitValue(), Files.readString(log));
        return JSON.readTree(out.resolve(FedAvgJob.REPORT).toFile()).get("run");
    }

    @Test
    void fourAndThirtyTwoClientsRunInTheSameSmallHeap(@TempDir Path tmp) throws Exception {
        Path llama = RescaleJobTest.llama(tmp, "float32");
        Path clients = tmp.resolve("clients");
        Python.script(Python.testScript("fed_check.py"), "make", llama.toString(), clients.toString(), "32");
        ObjectNode all = (ObjectNode) JSON.readTree(clients.resolve("manifest.json").toFile());
        ObjectNode four = all.deepCopy();
        ArrayNode firstFour = JSON.createArrayNode();
        for (int i = 0; i < 4; i++) firstFour.add(all.get("clients").get(i));
        four.set("clients", firstFour);
        Path m4 = Files.writeString(tmp.resolve("m4.json"), four.toString());
        long clientBytes = 0;
        for (int i = 0; i < 32; i++) clientBytes += Files.size(clients.resolve("c" + i).resolve("model.safetensors"));
        assertTrue(clientBytes > 300L << 20, "the 32 clients must not fit the 200 MB heap for this test to mean anything: " + clientBytes);

        JsonNode r4 = round(m4, tmp.resolve("out4"), tmp.resolve("log4"));
        JsonNode r32 = round(clients.resolve("manifest.json"), tmp.resolve("out32"), tmp.resolve("log32"));
        System.out.printf("[memory] heap pool peaks: 4 clients %s, 32 clients %s; heap max %.0f MB; 32 clients' weights %d MB%n",
                r4.get("heap_pool_peaks_mb_this_jvm"), r32.get("heap_pool_peaks_mb_this_jvm"), r32.get("max_heap_mb_this_jvm").asDouble(), clientBytes >> 20);
        assertTrue(r32.get("max_heap_mb_this_jvm").asDouble() <= 200, "the heap really was limited");
        String c32 = String.join(",", java.util.stream.IntStream.range(0, 32).mapToObj(i -> "c" + i).toList());
        String check = Python.script(Python.testScript("fed_check.py"), "check", clients.toString(), tmp.resolve("out32").toString(), "fedavg", c32);
        assertTrue(check.contains("\"max_rel_diff\": 0.0"), "32-client FedAvg equals numpy's: " + check);
    }
}
