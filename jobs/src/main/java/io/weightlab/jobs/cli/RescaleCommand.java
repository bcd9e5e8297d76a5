package io.weightlab.jobs.cli;

import io.weightlab.common.transform.MethodRegistry;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.model.DType;
import io.weightlab.common.error.UsageException;
import io.weightlab.jobs.weights.RescaleJob;
import io.weightlab.jobs.spark.SparkSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "rescale", aliases = "reinit", mixinStandardHelpOptions = true,
        description = {"Writes a new checkpoint with tensors rescaled or re-initialised by per-module rules, e.g.",
                "  --apply 'mlp.*=tvr:target_std=0.02' --apply '*=lir'   (first matching rule wins; unmatched tensors are kept).",
                "Shards are written by executors; the index and _SUCCESS come last. config.json and tokenizer files are copied.",
                "Methods: run with --list-methods."})
public class RescaleCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", description = "checkpoint: .safetensors file, index.json, directory or glob (file://, hdfs://, s3a://)")
    String input;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--apply", description = "PATTERN=METHOD[:key=value,...]; glob on tensor/module names (or re:REGEX); repeatable, in order")
    List<String> apply = new ArrayList<>();

    @Option(names = "--seed", defaultValue = "0", description = "seed of every random draw, with the tensor name and element block (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out-dtype", description = "write floating tensors as F32, BF16, F16 or F64 (default: as stored)")
    String outDType;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class,
            description = "largest shard, e.g. 5GB, 500MB, 2GiB (default: ${DEFAULT-VALUE}, as Hugging Face)")
    long maxShardBytes;

    @Option(names = "--resume", description = "take over the staging of an interrupted run with the same inputs and options: completed shards are kept")
    boolean resume;

    @Option(names = "--layout", defaultValue = "auto", description = "2-D weight layout: linear [out,in], conv1d [in,out] (GPT-2), auto from config.json (default: ${DEFAULT-VALUE})")
    String layout;

    @Mixin
    SliceOptions slices;

    @Option(names = "--list-methods", help = true, description = "print every method with its parameters (type, range, default) and exit")
    boolean listMethods;

    @Override
    public Integer call() {
        if (listMethods) {
            System.out.print(MethodRegistry.catalog().listing());
            return 0;
        }
        if (input == null) throw new UsageException("the input checkpoint is required");
        long sliceBytes = slices.sliceBytes();
        DType dt = null;
        if (outDType != null) {
            dt = DType.parse(outDType.toUpperCase(Locale.ROOT));
            if (dt == null) throw new UsageException("--out-dtype " + outDType + ": not a dtype (F32, BF16, F16, F64)");
        }
        TensorContext.Layout lay = layout(layout);
        try (SparkSupport.Handle h = SparkSupport.open("weightlab rescale", spark.master, spark.conf)) {
            RescaleJob.run(h.context(), new RescaleJob.Options(input, output.out, output.overwrite, apply, seed, dt,
                    maxShardBytes, lay, sliceBytes, resume), System.out);
            System.out.println("output: " + output.out + "  (safetensors shards, " + RescaleJob.PROVENANCE + ", copied config/tokenizer files)");
            return 0;
        }
    }

    /** --layout as given: null for auto (detected from config.json by the job). */
    static TensorContext.Layout layout(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "linear" -> TensorContext.Layout.LINEAR;
            case "conv1d" -> TensorContext.Layout.CONV1D;
            default -> throw new UsageException("--layout must be auto, linear or conv1d");
        };
    }
}
