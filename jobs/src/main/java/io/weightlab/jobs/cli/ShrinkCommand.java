package io.weightlab.jobs.cli;

import io.weightlab.jobs.surgery.ShrinkJob;
import io.weightlab.jobs.spark.SparkSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "shrink", mixinStandardHelpOptions = true,
        description = {"Initialises a smaller decoder from a larger one by weight selection: the student's config is the teacher's with",
                "--set overrides; its first N layers come from the teacher's first N, every dimension subsampled uniformly (floor(i*D/S)).",
                "  weightlab shrink llama-8b/ --out llama-small/ --set num_hidden_layers=16 --set hidden_size=2048 --set intermediate_size=7168"})
public class ShrinkCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "teacher checkpoint directory with config.json (LLaMA/Mistral/Qwen2/3, Mixtral, Qwen2-MoE)")
    String teacher;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--set", description = "KEY=VALUE: an integer field of the student's config.json, at most the teacher's; repeatable")
    Map<String, String> set = new LinkedHashMap<>();

    @Option(names = "--method", defaultValue = "select", description = {"select: weight selection, every dimension subsampled uniformly (default);",
            "subclone: importance rankings (one residual-stream ranking for all layers, FFN neurons per layer), layers spread evenly"})
    String method;

    @Option(names = "--activations", description = "subclone: activation statistics (docs/activation-stats.md) for the importance; without them a weight-norm proxy is used and labelled")
    String activations;

    @Option(names = "--no-scale", description = "subclone: do not scale the matrices that read the narrowed residual stream by sqrt(D/d)")
    boolean noScale;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Override
    public Integer call() {
        try (SparkSupport.Handle h = SparkSupport.open("weightlab shrink", spark.master, spark.conf)) {
            ShrinkJob.run(h.context(), new ShrinkJob.Options(teacher, output.out, output.overwrite, set, maxShardBytes, method, activations, !noScale), System.out);
            System.out.println("output: " + output.out);
            return 0;
        }
    }
}
