package io.weightlab.jobs.cli;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.onnx.OnnxImporter;
import io.weightlab.jobs.spark.Format;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Convert an ONNX model's initializers to safetensors (model.safetensors + name_map.json).",
                "Anonymous MatMul weights are named after their graph node and transposed to torch's [out, in];",
                "quantized weights keep their _scale/_zero_point companions. External data is read from beside the model."})
public class ImportCommand implements Callable<Integer> {
    @Option(names = "--from", required = true, description = "the .onnx file (file://, hdfs://, s3a://)")
    String from;

    @Option(names = "--to", required = true, description = "output directory")
    String to;

    @Option(names = "--overwrite", description = "replace a committed result already in --to")
    boolean overwrite;

    @Option(names = "--conf", description = "Hadoop setting key=value (e.g. fs.s3a.endpoint=...); repeatable")
    Map<String, String> conf = new LinkedHashMap<>();

    @Override
    public Integer call() {
        Configuration hconf = new Configuration();
        conf.forEach((k, v) -> hconf.set(k.startsWith("spark.hadoop.") ? k.substring("spark.hadoop.".length()) : k, v));
        StagedOutput out = StagedOutput.begin(hconf, to, overwrite);
        try {
            Map<String, String> md = new LinkedHashMap<>();
            md.put("weightlab_source", from.substring(from.lastIndexOf('/') + 1));
            OnnxImporter.Result r = OnnxImporter.importModel(hconf, from, out, "model.safetensors", md);
            out.commit();
            System.out.printf("import: %d tensors (%s parameters, %d transposed to [out, in]) -> %s/model.safetensors (%s)%n",
                    r.tensors(), Format.count(r.parameters()), r.transposed(), out.outputDir(), Format.bytes(r.bytesWritten()));
            return 0;
        } catch (RuntimeException e) {
            out.abort();
            throw e;
        }
    }
}
