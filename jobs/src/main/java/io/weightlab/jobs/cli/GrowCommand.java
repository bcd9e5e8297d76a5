package io.weightlab.jobs.cli;

import io.weightlab.jobs.surgery.GrowJob;
import io.weightlab.jobs.spark.SparkSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "grow", mixinStandardHelpOptions = true,
        description = {"Initialises a deeper and/or wider-FFN decoder that computes exactly the source's function: the source fills the",
                "leading blocks, new layers are appended with zero o_proj/down_proj, new FFN units get random gate/up rows and zero down columns.",
                "A wider residual (hidden_size, heads) copies the residual, rescales RMSNorm and splits reader weights (docs/algorithms.md §24.1).",
                "  weightlab grow llama-1b/ --out llama-1b-deep/ --set num_hidden_layers=24 --set intermediate_size=10240"})
public class GrowCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "source checkpoint directory with config.json (LLaMA/Mistral/Qwen2/3, Mixtral, Qwen2-MoE)")
    String teacher;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--set", description = "num_hidden_layers, intermediate_size, moe_intermediate_size, hidden_size, num_attention_heads or num_key_value_heads=N, at least the source's; repeatable")
    Map<String, String> set = new LinkedHashMap<>();

    @Option(names = "--new-std", defaultValue = "0.02", description = "std of the input-side weights of new units and of the zero-sum part of split copies (default: ${DEFAULT-VALUE}; 0: zeros, equal shares)")
    double newStd;

    @Option(names = "--noise-std", defaultValue = "0", description = "add N(0, S^2) to every weight matrix the growth changes or creates: breaks the copies' symmetry, no longer lossless; the job then runs the logit probe (default: ${DEFAULT-VALUE})")
    double noiseStd;

    @Option(names = "--probe-tokens", description = "run source and grown model on N seeded tokens (float64, one executor task) and record how far the logits moved in the provenance; default 16 with --noise-std, else off; 0: off")
    Integer probeTokens;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the new weights, with each tensor's name (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Override
    public Integer call() {
        try (SparkSupport.Handle h = SparkSupport.open("weightlab grow", spark.master, spark.conf)) {
            GrowJob.run(h.context(), new GrowJob.Options(teacher, output.out, output.overwrite, set, newStd, noiseStd, probeTokens, seed, maxShardBytes), System.out);
            System.out.println("output: " + output.out);
            return 0;
        }
    }
}
