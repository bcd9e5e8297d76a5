package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.federated.FedAvgJobTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/schema.md is the contract of every output file: this test runs every job that writes tables, reads the
 * columns each output really has (CSV header, Parquet schema, keys of JSON rows and documents) and fails on a
 * column the document does not list, and on a documented column no job wrote.
 */
public class OutputSchemaTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path SCHEMA = Path.of("..", "docs", "schema.md");

    @BeforeAll
    static void python() {
        Python.require("numpy", "safetensors");
    }

    @Test
    void everyOutputColumnIsDocumentedAndEveryDocumentedColumnIsWritten(@TempDir Path tmp) throws IOException {
        Path llama = tmp.resolve("llama");
        run("synth", "--preset", "llama-tiny", "--out", llama.toString(), "--dtype", "F32", "--seed", "5");
        Path trained = tmp.resolve("trained");
        run("synth", "--preset", "llama-tiny", "--out", trained.toString(), "--dtype", "F32", "--seed", "6");

        Map<String, Path> outputs = new LinkedHashMap<>();
        outputs.put("inspect", run("inspect", llama.toString(), "--out", tmp.resolve("inspect").toString(), "--format", "json,csv,parquet"));
        outputs.put("stats", run("stats", llama.toString(), "--out", tmp.resolve("stats").toString()));
        // --randomize: the correlation-trap columns are written only when asked for; likewise --fit E_TPL --detx the tail-fit ones
        outputs.put("spectrum", run("spectrum", llama.toString(), "--out", tmp.resolve("spectrum").toString(), "--randomize", "--fit", "E_TPL", "--detx", "--vectors"));
        outputs.put("report", run("report", "--stats", tmp.resolve("stats").toString(), "--spectrum", tmp.resolve("spectrum").toString(),
                "--out", tmp.resolve("report").toString()));
        // svd-smooth (mp-spikes) and svd-sharpen (traps) write tensors[].facts with both counts
        outputs.put("rescale", run("rescale", llama.toString(), "--out", tmp.resolve("rescale").toString(), "--apply", "q_proj=svd-smooth",
                "--apply", "k_proj=svd-sharpen", "--apply", "*=tvr"));
        outputs.put("lora-init", run("lora-init", llama.toString(), "--out", tmp.resolve("lora-init").toString(), "--method", "pissa",
                "--r", "4", "--target-modules", "q_proj,v_proj"));
        // an adapter's spectrum: its modules' rows carry the lora_* columns
        outputs.put("spectrum#adapter", run("spectrum", tmp.resolve("lora-init").resolve("adapter").toString(), "--out", tmp.resolve("spectrum-adapter").toString()));
        outputs.put("extract-lora", run("extract-lora", trained.toString(), "--base", llama.toString(), "--out", tmp.resolve("extract-lora").toString(),
                "--r", "4", "--target-modules", "q_proj,v_proj", "--rank-pattern", "v_proj=2"));
        Path grads = tmp.resolve("grads.safetensors");
        Python.script(Python.testScript("lr_scales_check.py"), "make", llama.toString(), grads.toString());
        outputs.put("lr-scales", run("lr-scales", llama.toString(), "--gradients", grads.toString(), "--out", tmp.resolve("lr-scales").toString()));
        outputs.put("synth", llama);
        outputs.put("upcycle", run("upcycle", llama.toString(), "--out", tmp.resolve("upcycle").toString(), "--experts", "4",
                "--granularity", "1", "--top-k", "2"));
        outputs.put("shrink", run("shrink", llama.toString(), "--out", tmp.resolve("shrink").toString(), "--set", "num_hidden_layers=2"));
        outputs.put("grow", run("grow", llama.toString(), "--out", tmp.resolve("grow").toString(), "--set", "num_hidden_layers=6"));
        // width growth writes its own run facts (run.lossless), the probe its run.logit_probe
        outputs.put("grow#width", run("grow", llama.toString(), "--out", tmp.resolve("grow-width").toString(), "--set", "hidden_size=512",
                "--probe-tokens", "4"));
        Path newTokens = tmp.resolve("new_tokens.jsonl");
        Files.writeString(newTokens, "{\"token\": \"<a>\", \"ids\": [1, 2]}\n");
        outputs.put("extend-vocab", run("extend-vocab", llama.toString(), "--out", tmp.resolve("extend-vocab").toString(), "--tokens", newTokens.toString(),
                "--method", "subword-mean", "--pad-to", "64"));
        // the grown model's extra layers are "not in the reference": not_compared has entries
        outputs.put("compare", run("compare", llama.toString(), trained.toString(), tmp.resolve("grow").toString(),
                "--out", tmp.resolve("compare").toString()));
        Path clients = FedAvgJobTest.clients(tmp.resolve("clients"), 2);
        outputs.put("fedavg", run("fedavg", "--manifest", clients.resolve("manifest.json").toString(), "--out", tmp.resolve("fedavg").toString(),
                "--variance-correction", "follow-others", "--server-opt", "fedadam", "--server-opt-param", "eta=0.5"));
        // a second and third round of the same job ("job#variant" keys): the DP ledger and report, a client selector's report
        outputs.put("fedavg#dp", run("fedavg", "--manifest", clients.resolve("manifest.json").toString(), "--out", tmp.resolve("fedavg-dp").toString(),
                "--weighting", "uniform", "--clip", "adaptive:count_stddev=1", "--dp", "gaussian", "--noise-multiplier", "1", "--seed", "3", "--epsilon-budget", "100"));
        outputs.put("fedavg#krum", run("fedavg", "--manifest", clients.resolve("manifest.json").toString(), "--out", tmp.resolve("fedavg-krum").toString(),
                "--method", "multi-krum:num_clients_to_keep=1"));
        Path recipe = tmp.resolve("recipe.yaml");
        Files.writeString(recipe, "merge_method: dare_ties\nbase_model: " + llama + "\nmodels:\n  - model: " + trained
                + "\n    parameters: {weight: 0.5, density: 0.5}\n");
        outputs.put("merge", run("merge", "--config", recipe.toString(), "--out", tmp.resolve("merge").toString()));
        Path stack = tmp.resolve("stack.yaml");
        Files.writeString(stack, "merge_method: passthrough\nslices:\n  - sources:\n      - model: " + llama + "\n        layer_range: [0, 2]\n"
                + "  - sources:\n      - model: " + trained + "\n        layer_range: [1, 3]\n");
        outputs.put("merge#stack", run("merge", "--config", stack.toString(), "--out", tmp.resolve("merge-stack").toString()));
        String adapter = tmp.resolve("lora-init").resolve("adapter").toString();
        outputs.put("merge#adapters", run("merge", "--adapters", adapter + "," + adapter, "--weights", "1,0.5", "--combination", "svd:svd_rank=4",
                "--out", tmp.resolve("merge-adapters").toString()));
        // merge --screen: its tables, and a top candidate's provenance (merge's own, under top/)
        Path screenGrid = tmp.resolve("screen.yaml");
        Files.writeString(screenGrid, "merge_method: ties\nbase_model: " + llama + "\nmodels:\n  - model: " + trained
                + "\n    parameters: {weight: 1}\ngrid:\n  density: [0.3, 0.7]\n");
        outputs.put("merge#screen", run("merge", "--screen", screenGrid.toString(), "--out", tmp.resolve("merge-screen").toString(), "--write-top", "1", "--spectra-alpha"));
        // Jobs that write weights copy the small files beside their input (config, tokenizer, README): not ours.
        Set<String> copied = new TreeSet<>();
        for (Path in : List.of(llama, Fixtures.dir("all-minilm-l6-v2"))) {
            try (Stream<Path> s = Files.list(in)) {
                s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("weightlab_provenance.json")).forEach(copied::add);
            }
        }

        Map<String, Set<String>> documented = documentedColumns(Files.readString(SCHEMA, StandardCharsets.UTF_8));
        Map<String, Set<String>> written = new TreeMap<>();
        for (Map.Entry<String, Path> e : outputs.entrySet()) {
            for (Path f : outputFiles(e.getValue())) if (!copied.contains(f.getFileName().toString())) written.computeIfAbsent(e.getKey().split("#")[0] + " " + f.getFileName(), k -> new TreeSet<>()).addAll(columns(f));
        }
        // a fleet of two: one dataset (its part files are named by checkpoint) and its run record
        Path fleet = run("stats", llama.toString(), trained.toString(), "--out", tmp.resolve("fleet").toString(), "--gg-fit", "moments");
        fleetWritten(written, "stats", fleet);
        documented.get("stats fleet dataset").addAll(documented.get("stats stats.parquet")); // "as in stats.parquet"
        // compare over the same two as a fleet (no steps: one series in input order, trained against llama)
        Path fleetCompare = run("compare", "--against", "first", llama.toString(), trained.toString(), "--out", tmp.resolve("fleet-compare").toString());
        fleetWritten(written, "compare", fleetCompare);
        // "as in compare.csv / layers.csv": their columns but the series position, which checkpoint_uri replaces
        for (String table : List.of("compare compare.csv", "compare layers.csv")) {
            for (String c : documented.get(table)) if (!c.equals("checkpoint_index") && !c.equals("checkpoint")) documented.get("compare fleet dataset").add(c);
        }
        // spectrum over the same two as a fleet, with the options that add columns (as the single run above)
        Path fleetSpectrum = run("spectrum", llama.toString(), trained.toString(), "--out", tmp.resolve("fleet-spectrum").toString(),
                "--randomize", "--fit", "E_TPL", "--detx", "--vectors");
        fleetWritten(written, "spectrum", fleetSpectrum);
        // "as in spectrum.parquet (not the lora_* columns)": a fleet takes no adapters
        for (String c : documented.get("spectrum spectrum.parquet")) if (!c.startsWith("lora_")) documented.get("spectrum fleet dataset").add(c);
        // inspect over the same two as a fleet: the inventory rows of each, one dataset, its run record
        Path fleetInspect = run("inspect", llama.toString(), trained.toString(), "--out", tmp.resolve("fleet-inspect").toString());
        fleetWritten(written, "inspect", fleetInspect);
        documented.get("inspect fleet dataset").addAll(documented.get("inspect inspect.parquet")); // "as in inspect.parquet"
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Set<String>> w : written.entrySet()) {
            Set<String> doc = documented.get(w.getKey());
            if (doc == null) {
                problems.add("output file not in docs/schema.md: " + w.getKey() + " with " + w.getValue());
                continue;
            }
            for (String c : w.getValue()) if (!documents(doc, c)) problems.add(w.getKey() + ": column '" + c + "' is not documented");
        }
        for (Map.Entry<String, Set<String>> d : documented.entrySet()) {
            Set<String> got = written.get(d.getKey());
            if (got == null) {
                problems.add("documented output never written: " + d.getKey());
                continue;
            }
            for (String c : d.getValue()) if (!written(got, c)) problems.add(d.getKey() + ": documented column '" + c + "' is never written");
        }
        for (Map.Entry<String, Path> e : outputs.entrySet()) problems.addAll(shapesAreIntegerLists(e.getKey(), e.getValue()));
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** docs/schema.md: {@code shape} is a list of integers in JSON and Parquet, its JSON text in CSV. */
    static List<String> shapesAreIntegerLists(String job, Path dir) throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path f : outputFiles(dir)) {
            String n = f.getFileName().toString();
            if (n.endsWith(".parquet")) {
                org.apache.spark.sql.types.StructType s = TestSpark.get().read().parquet(f.toString()).schema();
                if (List.of(s.fieldNames()).contains("shape") && !s.apply("shape").dataType().sql().equals("ARRAY<BIGINT>"))
                    bad.add(job + " " + n + ": shape is " + s.apply("shape").dataType().sql());
            } else if (n.endsWith(".csv")) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                int col = List.of(lines.get(0).split(",", -1)).indexOf("shape");
                if (col >= 0 && lines.size() > 1 && !lines.get(1).matches("^(?:[^,]*,){" + col + "}\"?\\[[0-9, ]*\\]\"?.*"))
                    bad.add(job + " " + n + ": shape is not [a, b, ...] in " + lines.get(1));
            } else if (n.endsWith(".json")) {
                JSON.readTree(f.toFile()).findValues("shape").forEach(v -> {
                    if (!v.isNull() && !v.isArray() || (v.size() > 0 && !v.get(0).isIntegralNumber())) bad.add(job + " " + n + ": shape " + v + " is not a list of integers");
                });
            }
        }
        return bad;
    }

    /** A documented {@code a.b.*} stands for any keys under {@code a.b} (maps keyed by data: shapes, kinds, --set keys). */
    static boolean documents(Set<String> doc, String column) {
        if (doc.contains(column)) return true;
        for (String d : doc) if (d.endsWith(".*") && !d.endsWith("[].*") && column.startsWith(d.substring(0, d.length() - 1))) return true;
        return false;
    }

    static boolean written(Set<String> got, String documented) {
        if (!documented.endsWith(".*") || documented.endsWith("[].*")) return got.contains(documented);
        String prefix = documented.substring(0, documented.length() - 1);
        return got.stream().anyMatch(c -> c.startsWith(prefix));
    }

    /** Runs one job through the real CLI and returns its output directory. */
    static Path run(String... args) {
        Cli.Run r = Cli.run(args);
        assertEquals(0, r.exit(), String.join(" ", args) + "\n" + r.err());
        for (int i = 0; i < args.length - 1; i++) if (args[i].equals("--out")) return Path.of(args[i + 1]);
        throw new IllegalArgumentException("no --out");
    }

    /** The tables and JSON documents of an output directory (weights and HTML are not tables). */
    static List<Path> outputFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> !p.toString().contains("/_") && !p.getFileName().toString().startsWith("."))
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return n.endsWith(".csv") || (n.endsWith(".json") && !n.endsWith(".index.json") && !isForeignJson(n))
                                || (n.endsWith(".parquet") || p.getParent().getFileName().toString().endsWith(".parquet")) && !n.endsWith(".crc");
                    })
                    .map(p -> p.getParent().getFileName().toString().endsWith(".parquet") ? p.getParent() : p)
                    .distinct().sorted().toList();
        }
    }

    /** Files whose format belongs to Hugging Face or PEFT (config.json, adapter_config.json, tokenizer files). */
    static boolean isForeignJson(String name) {
        return Set.of("config.json", "adapter_config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "manifest.json").contains(name);
    }

    /**
     * A file's columns: a CSV's header; a Parquet dataset's top-level fields; for JSON, every object key as a
     * dotted path, objects inside arrays as {@code array[].key}, maps keyed by data (tensor names) as {@code *}.
     */
    static Set<String> columns(Path f) throws IOException {
        String n = f.getFileName().toString();
        Set<String> out = new TreeSet<>();
        if (n.endsWith(".csv")) {
            String header = Files.readAllLines(f, StandardCharsets.UTF_8).get(0);
            for (String c : header.split(",", -1)) out.add(c.replaceAll("^\"|\"$", ""));
        } else if (n.endsWith(".parquet")) {
            for (String c : TestSpark.get().read().parquet(f.toString()).schema().fieldNames()) out.add(c);
        } else {
            walk(JSON.readTree(f.toFile()), "", out);
        }
        return out;
    }

    /** A fleet dataset's columns and its (first) run record's keys, as {@code job} writes them. */
    static void fleetWritten(Map<String, Set<String>> written, String job, Path dataset) throws IOException {
        written.put(job + " fleet dataset", new TreeSet<>(List.of(TestSpark.get().read().parquet(dataset.toString()).schema().fieldNames())));
        try (Stream<Path> runs = Files.list(dataset.resolve("_fleet/runs"))) {
            Set<String> keys = new TreeSet<>();
            walk(JSON.readTree(runs.findFirst().orElseThrow().toFile()), "", keys);
            written.put(job + " _fleet/runs/<run_id>.json", keys);
        }
    }

    static void walk(JsonNode node, String prefix, Set<String> out) {
        if (node.isArray()) {
            for (JsonNode e : node) walk(e, prefix + "[]", out);
            return;
        }
        if (!node.isObject()) return;
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = DATA_KEYED.matcher(e.getKey()).find() ? "*" : e.getKey();
            String path = prefix.isEmpty() ? key : prefix + "." + key;
            out.add(path);
            walk(e.getValue(), path, out);
        }
    }

    /** Keys that are data, not schema: tensor or module names and layer numbers. */
    static final Pattern DATA_KEYED = Pattern.compile("\\.weight$|\\.bias$|^model\\.|^\\d+$|layers\\.|_proj$|\\.safetensors$");

    /**
     * Parses docs/schema.md: a heading {@code ### `job` `file`} opens a file's table; the first cell of each
     * following table row (in backticks) is a column.
     */
    static Map<String, Set<String>> documentedColumns(String md) {
        Map<String, Set<String>> out = new TreeMap<>();
        Pattern heading = Pattern.compile("^#{2,4} `([a-z-]+)` `([^`]+)`");
        Pattern row = Pattern.compile("^\\| `([^`]+)` \\|");
        List<String> current = List.of();
        for (String line : md.split("\n")) {
            Matcher h = heading.matcher(line);
            if (h.find()) {
                current = new ArrayList<>();
                for (String file : h.group(2).split(", *")) {
                    String key = h.group(1) + " " + file;
                    out.computeIfAbsent(key, k -> new TreeSet<>());
                    current.add(key);
                }
                // several files of the same columns may share one heading: `stats` `stats.csv, stats.parquet`
                continue;
            }
            if (line.startsWith("#")) current = List.of();
            Matcher r = row.matcher(line);
            if (r.find()) for (String key : current) out.get(key).add(r.group(1) + (r.group(1).endsWith("[].*") ? " " + line : ""));
        }
        // `rows[].*` | the columns of `stats.csv` |: a JSON array of rows has exactly the columns of that table
        Pattern file = Pattern.compile("`([\\w.-]+\\.(?:csv|parquet))`");
        for (Map.Entry<String, Set<String>> e : out.entrySet()) {
            for (String c : List.copyOf(e.getValue())) {
                if (!c.contains("[].* ")) continue;
                e.getValue().remove(c);
                String prefix = c.substring(0, c.indexOf("[].*") + 2);
                Matcher m = file.matcher(c.substring(c.indexOf(' ')));
                if (!m.find()) throw new IllegalStateException("docs/schema.md: " + prefix + ".* names no table");
                Set<String> cols = out.get(e.getKey().split(" ")[0] + " " + m.group(1));
                if (cols == null) throw new IllegalStateException("docs/schema.md: " + prefix + ".* names an undocumented table " + m.group(1));
                for (String col : cols) e.getValue().add(prefix + "." + col);
            }
        }
        return out;
    }
}
