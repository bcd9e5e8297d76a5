package io.weightlab.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code import MODEL.onnx --out DIR --model-config FILE}: the input is positional like every job's, and with the
 * demo's config (conf/all-minilm-l6-v2.config.json) transformers loads the import and computes what the ONNX graph
 * computes.
 */
public class ImportModelConfigTest {
    static final Path DEMO_CONFIG = Path.of("..", "conf", "all-minilm-l6-v2.config.json");

    static Path onnx(Path tmp) throws IOException {
        Path onnx = tmp.resolve("all-minilm-l6-v2.onnx");
        try (InputStream in = ImportModelConfigTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assertNotNull(in, "the langchain4j artifact is on the test classpath");
            Files.copy(in, onnx);
        }
        return onnx;
    }

    @Test
    void theImportWithTheDemosConfigLoadsInTransformersAndMatchesTheOnnxGraph(@TempDir Path tmp) throws IOException {
        Python.require("torch", "transformers", "onnx");
        Path onnx = onnx(tmp);
        Path out = tmp.resolve("model");
        Cli.Run r = Cli.run("import", onnx.toString(), "--out", out.toString(), "--model-config", DEMO_CONFIG.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("with config.json"), r.out());
        assertEquals(Files.readString(DEMO_CONFIG), Files.readString(out.resolve("config.json")), "written as given");
        JsonNode check = new ObjectMapper().readTree(Python.script(Python.testScript("import_load_check.py"), out.toString(), onnx.toString()));
        assertEquals("BertModel", check.get("class").asText());
        assertEquals(0, check.get("missing").size(), check.toString());
        assertEquals(0, check.get("unexpected").size(), check.toString());
        assertEquals(0, check.get("mismatched").size(), check.toString());
        assertTrue(check.get("max_abs_diff").asDouble() < 1e-4, "transformers and the ONNX graph agree: " + check);
    }

    @Test
    void theInputIsGivenOnceAndABadConfigIsRefusedBeforeTheWork(@TempDir Path tmp) throws IOException {
        Path onnx = onnx(tmp);
        Cli.Run both = Cli.run("import", onnx.toString(), "--from", onnx.toString(), "--out", tmp.resolve("a").toString());
        assertEquals(2, both.exit());
        assertTrue(both.err().contains("not both"), both.err());
        Cli.Run none = Cli.run("import", "--out", tmp.resolve("a").toString());
        assertEquals(2, none.exit());
        assertTrue(none.err().contains("weightlab import MODEL.onnx --out DIR"), none.err());

        Path bad = Files.writeString(tmp.resolve("config.json"), "{\"hidden_size\": 384}");
        Cli.Run r = Cli.run("import", onnx.toString(), "--out", tmp.resolve("b").toString(), "--model-config", bad.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("no 'model_type'"), r.err());
        assertFalse(Files.exists(tmp.resolve("b")), "refused before anything was written");

        Cli.Run plain = Cli.run("import", onnx.toString(), "-o", tmp.resolve("c").toString());
        assertEquals(0, plain.exit(), plain.err());
        assertTrue(plain.out().contains("no config.json (--model-config FILE adds one for transformers)"), plain.out());
    }
}
