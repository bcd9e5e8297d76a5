package io.weightlab.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.onnx.OnnxImporter;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.Format;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Convert an ONNX model's initializers to safetensors (model.safetensors + name_map.json).",
                "Anonymous MatMul weights are named after their graph node and transposed to torch's [out, in];",
                "quantized weights keep their _scale/_zero_point companions. External data is read from beside the model.",
                "ONNX holds no Hugging Face config: pass one with --model-config for transformers to load the result."})
public class ImportCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL.onnx", description = "the .onnx file (file://, hdfs://, s3a://)")
    String input;

    @Option(names = "--from", paramLabel = "MODEL.onnx", description = "the .onnx file: the old spelling of the positional argument")
    String from;

    @Option(names = {"-o", "--out", "--to"}, required = true, description = "output directory (--to: the old spelling)")
    String out;

    @Option(names = "--overwrite", description = "replace a committed result already in --out")
    boolean overwrite;

    @Option(names = "--model-config", paramLabel = "FILE", description = "a Hugging Face config.json written as <out>/config.json, so "
            + "transformers loads the import (e.g. conf/all-minilm-l6-v2.config.json for the demo's model)")
    String modelConfig;

    @Option(names = "--conf", description = "Hadoop setting key=value (e.g. fs.s3a.endpoint=...); repeatable")
    Map<String, String> conf = new LinkedHashMap<>();

    @Override
    public Integer call() {
        String onnx = onnxUri();
        Configuration hconf = new Configuration();
        conf.forEach((k, v) -> hconf.set(k.startsWith("spark.hadoop.") ? k.substring("spark.hadoop.".length()) : k, v));
        byte[] config = modelConfig == null ? null : readModelConfig(hconf, modelConfig);
        StagedOutput staged = StagedOutput.begin(hconf, out, overwrite);
        try {
            Map<String, String> md = new LinkedHashMap<>();
            md.put("weightlab_source", onnx.substring(onnx.lastIndexOf('/') + 1));
            OnnxImporter.Result r = OnnxImporter.importModel(hconf, onnx, staged, "model.safetensors", md);
            if (config != null) {
                try (var os = staged.create("config.json")) {
                    os.write(config);
                }
            }
            staged.commit();
            System.out.printf("import: %d tensors (%s parameters, %d transposed to [out, in]) -> %s/model.safetensors (%s)%s%n",
                    r.tensors(), Format.count(r.parameters()), r.transposed(), staged.outputDir(), Format.bytes(r.bytesWritten()),
                    config != null ? " with config.json" : "; no config.json (--model-config FILE adds one for transformers)");
            return 0;
        } catch (IOException e) {
            staged.abort();
            throw new WeightLabException(out + ": cannot write config.json: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            staged.abort();
            throw e;
        }
    }

    /** The model from the positional argument or, as before, from --from; exactly one of them. */
    private String onnxUri() {
        if (input != null && from != null) throw new UsageException("give the .onnx model once: as the argument or with --from, not both");
        if (input == null && from == null) throw new UsageException("the .onnx model to import is required: weightlab import MODEL.onnx --out DIR");
        return input != null ? input : from;
    }

    /** The config is checked before the work: a JSON object, as transformers' PretrainedConfig reads it. */
    static byte[] readModelConfig(Configuration hconf, String uri) {
        byte[] bytes = CheckpointSiblings.readSmall(hconf, uri);
        try {
            JsonNode n = new ObjectMapper().readTree(new String(bytes, StandardCharsets.UTF_8));
            if (n == null || !n.isObject()) throw new UsageException("--model-config " + uri + ": not a JSON object");
            if (!n.has("model_type")) throw new UsageException("--model-config " + uri + ": no 'model_type' (transformers needs it to pick the architecture)");
        } catch (IOException e) {
            throw new UsageException("--model-config " + uri + ": not valid JSON: " + e.getMessage().split("\n", 2)[0]);
        }
        return bytes;
    }
}
