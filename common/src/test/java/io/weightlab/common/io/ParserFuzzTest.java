package io.weightlab.common.io;

import io.weightlab.common.error.WeightLabException;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.weightlab.common.onnx.OnnxModelScanner;

import java.io.ByteArrayInputStream;
import java.util.Arrays;

/**
 * Hostile bytes into every parser that reads untrusted input (issue #7): the safetensors header, the shard index,
 * the ONNX ModelProto scanner. The only acceptable failure is our typed error (a {@link WeightLabException} naming
 * the file and the rule); a NullPointerException, an index error, a hang or an allocation sized by a lying length
 * is a bug. In CI the committed corpus (src/test/resources/.../ParserFuzzTestInputs, seeds plus every input that
 * once broke a parser) runs as regression tests; {@code JAZZER_FUZZ=1 mvn test -pl common -Dtest=ParserFuzzTest}
 * fuzzes for real.
 */
class ParserFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void safetensorsHeaderFailsOnlyWithTypedErrors(byte[] file) {
        try {
            if (file.length < 8) {
                SafetensorsHeader.headerLength("fuzz.safetensors", Arrays.copyOf(file, 8), file.length);
                return;
            }
            long n = SafetensorsHeader.headerLength("fuzz.safetensors", Arrays.copyOf(file, 8), file.length);
            SafetensorsHeader h = SafetensorsHeader.parse("fuzz.safetensors", Arrays.copyOfRange(file, 8, (int) (8 + n)), file.length);
            h.tensors().forEach(t -> {
                if (t.dataBegin() < h.dataStart() || t.dataEnd() > file.length || t.dataBegin() > t.dataEnd()) {
                    throw new AssertionError("accepted tensor " + t + " outside the file of " + file.length + " bytes");
                }
            });
        } catch (WeightLabException expected) {
            // a typed error naming the rule: what hostile input must get
        }
    }

    @FuzzTest(maxDuration = "30s")
    void shardIndexFailsOnlyWithTypedErrors(byte[] json) {
        try {
            ShardedIndex.parse("fuzz/model.safetensors.index.json", json);
        } catch (WeightLabException expected) {
            // typed
        }
    }

    @FuzzTest(maxDuration = "60s")
    void onnxScannerFailsOnlyWithTypedErrors(byte[] model) {
        try {
            OnnxModelScanner.scan("fuzz.onnx", new ByteArrayInputStream(model), model.length);
        } catch (WeightLabException expected) {
            // typed
        }
    }
}
