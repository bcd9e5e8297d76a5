package io.weightlab.jobs.surgery;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code weightlab extend-vocab} (issue #23) on tiny random Llamas made by transformers with their own BPE
 * tokenizer.json; every number is checked by vocab_check.py with numpy on the source's rows.
 */
public class ExtendVocabJobTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void python() {
        Python.require("numpy", "torch", "safetensors", "transformers", "tokenizers");
    }

    static int model(Path dir, boolean tied, String dtype) throws IOException {
        Files.createDirectories(dir);
        return JSON.readTree(Python.script(Python.testScript("vocab_model.py"), dir.toString(), tied ? "1" : "0", dtype)).get("vocab").asInt();
    }

    /** One Python start for all the outputs of a test (torch and transformers take seconds to import). */
    static JsonNode check(Path src, Path... outs) throws IOException {
        List<String> args = new ArrayList<>(List.of(src.toString()));
        for (Path o : outs) args.add(o.toString());
        JsonNode all = JSON.readTree(Python.script(Python.testScript("vocab_check.py"), args.toArray(String[]::new)));
        System.out.println("[vocab_check] " + all);
        return all;
    }

    /** Untied F32 model, pieces from the model's tokenizer (tools/vocab_pieces.py): subword-mean, convex and mean rows. */
    @Test
    void piecesAndMeanOnAnUntiedHead(@TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("src");
        int n = model(src, false, "float32");
        Path txt = tmp.resolve("new.txt");
        Files.writeString(tmp.resolve("new.txt"), "foxdog\nquickly\nweightsgrow\nthe\n"); // "the" is in the BPE vocabulary: skipped
        Path jsonl = tmp.resolve("new.jsonl");
        Files.writeString(jsonl, Python.script(Python.tool("vocab_pieces.py"), src.toString(), txt.toString()));

        Path sub = tmp.resolve("sub");
        Cli.Run r = Cli.run("extend-vocab", src.toString(), "--out", sub.toString(), "--tokens", jsonl.toString(), "--method", "subword-mean", "--pad-to", "64");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("'the' is already token"), r.out());
        Path convex = tmp.resolve("convex");
        // the plain list: the job splits each token with tokenizer.json itself (Hugging Face tokenizers through DJL)
        Cli.Run rc = Cli.run("extend-vocab", src.toString(), "--out", convex.toString(), "--tokens", txt.toString(), "--method", "convex:alpha=0.5", "--seed", "3");
        assertEquals(0, rc.exit(), rc.err());
        JsonNode split = JSON.readTree(convex.resolve("new_tokens.json").toFile()).get("tokens");
        Map<String, String> pythonIds = new java.util.HashMap<>();
        for (String l : Files.readAllLines(jsonl)) pythonIds.put(readTree(l).get("token").asText(), readTree(l).get("ids").toString());
        int compared = 0;
        for (JsonNode t : split) {
            if (!t.has("pieces")) continue; // 'the' is skipped: already in the vocabulary
            assertEquals(pythonIds.get(t.get("token").asText()), t.get("pieces").toString(), "pieces as Python's tokenizers splits " + t);
            compared++;
        }
        assertEquals(3, compared, split.toString());
        Path mean = tmp.resolve("mean");
        Cli.Run rm = Cli.run("extend-vocab", src.toString(), "--out", mean.toString(), "--tokens", txt.toString(), "--method", "mean");
        assertEquals(0, rm.exit(), rm.err());
        JsonNode checks = check(src, sub, convex, mean);

        int padded = (n + 3 + 63) / 64 * 64;
        JsonNode c = checks.get(0);
        assertEquals(padded, c.get("vocab_size").asInt(), c.toString());
        assertEquals(padded, c.get("logits_width").asInt());
        assertTrue(c.get("others_identical").asBoolean() && c.get("same_names").asBoolean(), c.toString());
        assertFalse(c.get("tied").asBoolean());
        for (String t : List.of("model.embed_tokens.weight", "lm_head.weight")) {
            JsonNode row = c.get("rows").get(t);
            assertTrue(row.get("old_rows_identical").asBoolean(), t);
            assertEquals(3, row.get("new_rows").asInt());
            assertEquals(0, row.get("pieces_mean_err").asDouble(), 1e-6, t + ": pieces' mean " + row);
            assertEquals(padded - n - 3, row.get("padding_rows").asInt());
            assertEquals(0, row.get("padding_err").asDouble(), 1e-6, t + ": padding rows are the mean row " + row);
        }
        JsonNode listing = JSON.readTree(sub.resolve("new_tokens.json").toFile());
        assertEquals(n, listing.get("tokens").get(0).get("id").asInt());
        assertEquals("skipped: already token", listing.get("tokens").get(3).get("status").asText().replaceAll(" \\d+$", ""));

        c = checks.get(1);
        assertEquals(n + 3, c.get("vocab_size").asInt());
        JsonNode row = c.get("rows").get("model.embed_tokens.weight");
        assertTrue(row.get("multi_piece_rows").asInt() >= 1, row.toString());
        assertEquals(0, row.get("convex_err").asDouble(), 1e-5, "in the pieces' convex hull: " + row);
        assertTrue(row.get("pieces_mean_err").asDouble() > 1e-3, "random weights, not the mean: " + row);

        c = checks.get(2);
        for (String t : List.of("model.embed_tokens.weight", "lm_head.weight")) {
            assertEquals(0, c.get("rows").get(t).get("mean_err").asDouble(), 1e-6, t + ": numpy's mean of the rows");
            assertTrue(c.get("rows").get(t).get("old_rows_identical").asBoolean(), t);
        }
        badInputWritesNothing(src, tmp);
    }

    /** Tied BF16 model, 3000 new tokens: gaussian rows have the fitted mean and covariance, random rows the init std. */
    @Test
    void gaussianAndRandomOnATiedModel(@TempDir Path tmp) throws IOException {
        Path src = tmp.resolve("src");
        int n = model(src, true, "bfloat16");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 3000; i++) lines.add(String.format("<tok%04d>", i));
        Path txt = tmp.resolve("new.txt");
        Files.write(txt, lines);

        Path gauss = tmp.resolve("gauss");
        Cli.Run r = Cli.run("extend-vocab", src.toString(), "--out", gauss.toString(), "--tokens", txt.toString(), "--method", "gaussian:scale=1", "--seed", "11");
        assertEquals(0, r.exit(), r.err());
        Path random = tmp.resolve("random");
        Cli.Run rr = Cli.run("extend-vocab", src.toString(), "--out", random.toString(), "--tokens", txt.toString(), "--method", "random");
        assertEquals(0, rr.exit(), rr.err());
        JsonNode checks = check(src, gauss, random);
        JsonNode c = checks.get(0);
        assertEquals(n + 3000, c.get("vocab_size").asInt());
        assertTrue(c.get("tied").asBoolean() && c.get("input_is_output").asBoolean(), "tied stays tied: " + c);
        JsonNode row = c.get("rows").get("model.embed_tokens.weight");
        assertTrue(row.get("old_rows_identical").asBoolean());
        assertTrue(c.get("others_identical").asBoolean(), c.toString());
        // 16 means and 136 covariances against their sampling error (k = 3000): the largest |z| of ~150 N(0,1) is ~3.
        assertTrue(row.get("mean_z").asDouble() < 4.5, "sample mean within sampling error: " + row);
        assertTrue(row.get("cov_z").asDouble() < 4.5, "sample covariance within sampling error: " + row);

        row = checks.get(1).get("rows").get("model.embed_tokens.weight");
        // std of 48,000 N(0, 0.05²) draws: relative sampling error 1/sqrt(2·48000) = 0.3 %
        assertEquals(0.05, row.get("sample_std").asDouble(), 0.05 * 0.015, "the config's initializer_range: " + row);
    }

    private static JsonNode readTree(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Bad input (on the first test's model): one line naming the file or the method, exit 2, nothing written. */
    static void badInputWritesNothing(Path src, Path tmp) throws IOException {
        Path noTokenizer = tmp.resolve("no-tokenizer");
        Files.createDirectories(noTokenizer);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("tokenizer.json")) Files.copy(f, noTokenizer.resolve(f.getFileName()));
            }
        }
        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "\n\n");
        Path txt = tmp.resolve("new.txt");
        Files.writeString(txt, "foxdog\n");
        Path out = tmp.resolve("out");
        List<String[]> cases = List.of(
                new String[] {"--tokens", empty.toString(), "--method", "mean", "NonEmptyTokens"},
                new String[] {"--tokens", txt.toString(), "--method", "gausian", "did you mean 'gaussian'"},
                new String[] {"--tokens", txt.toString(), "--method", "gaussian:scal=1", "did you mean 'scale'"},
                new String[] {"--tokens", txt.toString(), "--method", "subword-mean", "PiecesGiven"});
        for (String[] k : cases) {
            // a plain list needs the model's tokenizer.json for pieces: the last case runs on a copy without one
            Path model = k[3].equals("subword-mean") ? noTokenizer : src;
            Cli.Run r = Cli.run("extend-vocab", model.toString(), "--out", out.toString(), k[0], k[1], k[2], k[3]);
            assertEquals(2, r.exit(), r.out() + r.err());
            assertTrue(r.err().contains(k[4]), r.err());
            assertFalse(Files.exists(out), "nothing written for " + k[3]);
        }
    }
}
