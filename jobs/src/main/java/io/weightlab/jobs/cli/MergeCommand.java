package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.merge.MergeRegistry;
import io.weightlab.common.model.DType;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.weights.MergeJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Merges fine-tunes of one base by a mergekit recipe, read as-is: merge_method, base_model, models with per-model",
                "parameters, top-level parameters (numbers, filter lists, gradient lists), dtype, out_dtype. Methods: --list-methods.",
                "Every task holds one slice of the N models of one tensor; output: safetensors shards, the base's config and tokenizer,",
                "provenance.json (each tensor's method and resolved parameters), _SUCCESS last. docs/algorithms.md has the formulas."})
public class MergeCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "RECIPE", description = "the mergekit recipe (YAML; file://, hdfs://, s3a://). Here --config is the recipe, not option defaults")
    String recipe;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--seed", defaultValue = "0", description = "seed of DARE's random masks, with the tensor name, input and element block (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out-dtype", description = "write floating tensors as F32, BF16, F16 or F64 (default: the recipe's out_dtype, then dtype, then as stored)")
    String outDType;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Option(names = "--memory-budget", defaultValue = "256MiB", converter = ByteSize.class,
            description = "per-task buffer for the models' values at one step: budget / (N + 3) positions (default: ${DEFAULT-VALUE})")
    long memoryBudget;

    @Option(names = "--resume", description = "take over the staging of an interrupted run with the same recipe, models and options")
    boolean resume;

    @Option(names = "--list-methods", help = true, description = "print every merge method with its parameters and exit")
    boolean listMethods;

    @Override
    public Integer call() {
        if (listMethods) {
            System.out.print(MergeRegistry.catalog().listing());
            return 0;
        }
        if (recipe == null) throw new UsageException("--config RECIPE is required (a mergekit YAML recipe)");
        DType dt = null;
        if (outDType != null) {
            dt = DType.parse(outDType.toUpperCase(Locale.ROOT));
            if (dt == null || !dt.isFloatingPoint()) throw new UsageException("--out-dtype " + outDType + ": not a dtype (F32, BF16, F16, F64)");
        }
        try (SparkSupport.Handle h = SparkSupport.open("weightlab merge", spark.master, spark.conf)) {
            MergeJob.run(h.context(), new MergeJob.Options(recipe, output.out, output.overwrite, seed, dt, maxShardBytes, memoryBudget, resume), System.out);
            System.out.println("output: " + output.out + "  (safetensors shards, " + MergeJob.PROVENANCE + ", copied config/tokenizer files)");
            return 0;
        }
    }
}
