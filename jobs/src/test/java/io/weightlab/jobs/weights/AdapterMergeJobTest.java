package io.weightlab.jobs.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code merge --adapters} against PEFT's own {@code add_weighted_adapter} on four real adapters of a small Llama
 * (saved by PEFT; adapter_merge_check.py): every combination type's merged ΔW (PEFT's get_delta_weight of our adapter,
 * loaded by PeftModel) equals PEFT's to 1e-5 relative; DARE is checked twice: its factors are the 4 possible subset
 * sums with kept fractions binomial around the density, and dare_ties with PEFT drawing our masks equals ours.
 */
public class AdapterMergeJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static Path llama, adapters;

    @BeforeAll
    static void adapters() {
        Python.require("numpy", "torch", "transformers", "peft", "safetensors");
        llama = RescaleJobTest.llama(shared, "float32");
        adapters = shared.resolve("adapters");
        Python.script(Python.testScript("adapter_merge_check.py"), "make", llama.toString(), adapters.toString());
    }

    private static String dirs(Path adapters, String... names) {
        List<String> out = new ArrayList<>();
        for (String n : names) out.add(adapters.resolve(n).toString());
        return String.join(",", out);
    }

    private static ObjectNode merge(ArrayNode cases, Path out, String combination, String weights, String... names) {
        Cli.Run r = Cli.run("merge", "--adapters", dirs(adapters, names), "--weights", weights, "--combination", combination,
                "--out", out.toString(), "--seed", "7");
        assertEquals(0, r.exit(), combination + ": " + r.err());
        ObjectNode c = cases.addObject();
        c.put("result", out.toString());
        ArrayNode a = c.putArray("adapters");
        for (String n : names) a.add(n);
        ArrayNode w = c.putArray("weights");
        for (String x : weights.split(",")) w.add(Double.parseDouble(x));
        String[] spec = combination.split(":", 2);
        c.put("combination_type", spec[0]);
        if (spec.length > 1) {
            for (String kv : spec[1].split(",")) {
                String[] p = kv.split("=");
                if (p[0].equals("majority_sign_method")) c.put(p[0], p[1]);
                else if (p[0].equals("svd_rank")) c.put(p[0], Integer.parseInt(p[1]));
                else c.put(p[0], Double.parseDouble(p[1]));
            }
        }
        return c;
    }

    @Test
    void everyCombinationEqualsPeftsAddWeightedAdapter(@TempDir Path tmp) throws IOException {
        ArrayNode cases = JSON.createArrayNode();
        // ranks 8, 8, 4 and a module (k_proj) only a2 has: PEFT pads cat and skips absent adapters
        merge(cases, tmp.resolve("cat"), "cat", "1,0.5,-0.7", "a0", "a2", "a3");
        merge(cases, tmp.resolve("svd"), "svd:svd_rank=6", "1,0.5,-0.7", "a0", "a2", "a3");
        merge(cases, tmp.resolve("svd-default"), "svd", "0.6,0.4", "a0", "a3");
        merge(cases, tmp.resolve("linear"), "linear", "1,-0.5", "a0", "a1");
        merge(cases, tmp.resolve("ties"), "ties:density=0.5", "1,0.8,0.6", "a0", "a1", "a2");
        merge(cases, tmp.resolve("ties-freq"), "ties:density=0.7,majority_sign_method=frequency", "1,0.8", "a0", "a1");
        merge(cases, tmp.resolve("mp"), "magnitude_prune:density=0.3", "1,1", "a0", "a1");
        merge(cases, tmp.resolve("ties-svd"), "ties_svd:density=0.5,svd_rank=8", "1,0.8", "a0", "a3");
        merge(cases, tmp.resolve("mp-svd"), "magnitude_prune_svd:density=0.4", "1,-1", "a0", "a1");
        merge(cases, tmp.resolve("svd-clamp"), "svd:svd_rank=6,svd_clamp=0.9", "1,1", "a0", "a1");
        // DARE: our masks come from (seed, module, factor, input); dare_linear shows them, PEFT's dare_ties then draws them
        merge(JSON.createArrayNode(), tmp.resolve("dare-linear"), "dare_linear:density=0.6", "1,0.8", "a0", "a1");
        merge(cases, tmp.resolve("dare-ties"), "dare_ties:density=0.6", "1,0.8", "a0", "a1").put("masks_from", tmp.resolve("dare-linear").toString());
        Path casesFile = tmp.resolve("cases.json");
        JSON.writeValue(casesFile.toFile(), cases);
        JsonNode res = JSON.readTree(Python.script(Python.testScript("adapter_merge_check.py"), "check", llama.toString(), adapters.toString(), casesFile.toString()));
        int[] wantRank = {20, 6, 8, 8, 8, 8, 8, 8, 8, 6, 8};
        for (int i = 0; i < res.size(); i++) {
            JsonNode r = res.get(i);
            String which = cases.get(i).get("combination_type").asText() + " " + r.get("result").asText();
            assertEquals(r.get("modules"), r.get("ours_modules"), which + ": the same modules as PEFT's merged adapter");
            // PEFT merges in float32, we in float64 and write float32: 1e-5 relative to the module's largest |ΔW|
            assertTrue(r.get("rel").asDouble() < 1e-5, which + ": ΔW vs PEFT's add_weighted_adapter " + r);
            assertTrue(r.get("report_residual_diff").asDouble() < 1e-5, which + ": merge_report's relative residual vs numpy " + r);
            assertEquals(wantRank[i], r.get("r").asInt(), which + ": PEFT's new rank");
        }
        assertTrue(res.get(0).get("modules").toString().contains("k_proj"), "k_proj (only in a2) is merged: " + res.get(0));

        JsonNode dare = JSON.readTree(Python.script(Python.testScript("adapter_merge_check.py"), "dare", tmp.resolve("dare-linear").toString(),
                adapters.toString(), "1,0.8", "0.6"));
        assertTrue(dare.get("worst").asDouble() < 1e-6, "every dare_linear factor element is a subset sum / density: " + dare);
        double n = dare.get("elements").asDouble(), sd = Math.sqrt(n * 0.6 * 0.4);
        for (JsonNode k : dare.get("kept")) assertEquals(0.6 * n, k.asDouble(), 5 * sd, "kept count of one adapter ~ Binomial(n, 0.6): " + dare);

        JsonNode report = JSON.readTree(tmp.resolve("cat").resolve(AdapterMergeJob.REPORT).toFile());
        for (JsonNode m : report.get("modules")) assertEquals(0.0, m.get("relative_residual").asDouble(), 1e-6, "cat is exact: " + m);
    }

    @Test
    void intoBaseEqualsPeftsMergeAndUnloadAndBadInputWritesNothing(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("into");
        Cli.Run r = Cli.run("merge", "--adapters", dirs(adapters, "a0", "a3"), "--weights", "1,0.5", "--combination", "cat", "--into-base", llama.toString(),
                "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode m = JSON.readTree(Python.script(Python.testScript("adapter_merge_check.py"), "merged", llama.toString(), out.toString()));
        assertEquals(0.0, m.get("merged_vs_peft_rel").asDouble(), 1e-6, "merged/ == PEFT's merge_and_unload of our adapter");
        assertTrue(Files.exists(out.resolve("merged").resolve("config.json")), "the base's config is copied");

        String[][] bad = {
                {"--weights", "1", "--combination", "cat", "one weight per adapter"},
                {"--weights", "1,1", "--combination", "ties:density=0.5", "SameRank", "a3"},
                {"--weights", "1,1", "--combination", "ties:density=0", "density=0"},
                {"--weights", "1,1", "--combination", "ties", "density is required"},
                {"--weights", "1,1", "--combination", "tie:density=0.5", "did you mean"},
                {"--weights", "1,1", "--combination", "svd:svd_rank=9999", "SvdRank"},
        };
        for (String[] b : bad) {
            Path o = tmp.resolve("bad");
            String second = b.length > 5 ? b[5] : "a1";
            Cli.Run x = Cli.run("merge", "--adapters", dirs(adapters, "a0", second), b[0], b[1], b[2], b[3], "--out", o.toString());
            assertEquals(2, x.exit(), String.join(" ", b) + ": " + x.err());
            assertTrue(x.err().contains(b[4]), "names the rule: " + x.err());
            assertFalse(Files.exists(o.resolve("_SUCCESS")) || Files.exists(o.resolve("adapter_model.safetensors")), "nothing written: " + String.join(" ", b));
        }
        // NaN in one adapter's factor: the file, the tensor and the rule, nothing written
        Path poisoned = tmp.resolve("poisoned");
        for (String a : new String[] {"a0", "a1"}) {
            Files.createDirectories(poisoned.resolve(a));
            for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors"}) Files.copy(adapters.resolve(a).resolve(f), poisoned.resolve(a).resolve(f));
        }
        Python.Result poison = Python.exec(List.of(Python.exe(), "-c", "import sys; from safetensors.numpy import load_file, save_file; import numpy as np; p=sys.argv[1]; d=load_file(p); "
                + "k=sorted(d)[0]; d[k]=d[k].copy(); d[k].flat[3]=np.nan; save_file(d, p, metadata={'format':'pt'})",
                poisoned.resolve("a1").resolve("adapter_model.safetensors").toString()), 120);
        assertEquals(0, poison.exit(), poison.stderr());
        Path o = tmp.resolve("nan");
        Cli.Run x = Cli.run("merge", "--adapters", dirs(poisoned, "a0", "a1"), "--weights", "1,1", "--combination", "svd", "--out", o.toString());
        assertEquals(2, x.exit(), x.err());
        assertTrue(x.err().contains("FiniteValues") && x.err().contains("a1"), x.err());
        assertFalse(Files.exists(o), "nothing written after NaN");
    }
}
