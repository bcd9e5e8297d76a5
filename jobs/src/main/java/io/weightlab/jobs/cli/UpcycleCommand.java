package io.weightlab.jobs.cli;

import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.surgery.UpcycleJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "upcycle", mixinStandardHelpOptions = true,
        description = {"Turns a dense LLaMA/Mistral checkpoint into a Mixtral mixture of experts (loads with MixtralForCausalLM):",
                "virtual groups of G experts share the dense FFN's G shards and one router row; w1/w2/w3 scaled by G^(1/3).",
                "--granularity 1 is plain replication (exactly the dense function), optionally with --noise.",
                "  weightlab upcycle llama/ --out moe/ --experts 8 --granularity 1 --top-k 2"})
public class UpcycleCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "dense checkpoint directory with config.json (file://, hdfs://, s3a://)")
    String input;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--experts", defaultValue = "8", description = "experts E per layer (default: ${DEFAULT-VALUE})")
    int experts;

    @Option(names = "--granularity", defaultValue = "1", description = "G: each expert holds 1/G of the dense FFN (default: ${DEFAULT-VALUE})")
    int granularity;

    @Option(names = "--top-k", defaultValue = "2", description = "experts per token, a multiple of G (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--router-std", defaultValue = "0.02", description = "std of the random router rows (default: ${DEFAULT-VALUE}, Mixtral's initializer_range)")
    double routerStd;

    @Option(names = "--noise", defaultValue = "0", description = "std of Gaussian noise added to each replicated expert (granularity 1 only)")
    double noise;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the router and the noise, with each tensor's name (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--target", defaultValue = "mixtral", description = "MoE naming: mixtral (MixtralForCausalLM) or qwen2_moe (Qwen2MoeForCausalLM, with a zero-output shared expert) (default: ${DEFAULT-VALUE})")
    String target;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Override
    public Integer call() {
        try (SparkSupport.Handle h = SparkSupport.open("weightlab upcycle", spark.master, spark.conf)) {
            UpcycleJob.run(h.context(), new UpcycleJob.Options(input, output.out, output.overwrite, experts, granularity, topK, routerStd, noise, seed,
                    maxShardBytes, switch (target.toLowerCase(java.util.Locale.ROOT)) {
                        case "mixtral" -> UpcycleJob.Target.MIXTRAL;
                        case "qwen2_moe", "qwen2-moe" -> UpcycleJob.Target.QWEN2_MOE;
                        default -> throw new io.weightlab.common.error.UsageException("--target must be mixtral or qwen2_moe");
                    }), System.out);
            System.out.println("output: " + output.out + "  (Mixtral safetensors, config.json, " + io.weightlab.jobs.weights.RescaleJob.PROVENANCE + ")");
            return 0;
        }
    }
}
