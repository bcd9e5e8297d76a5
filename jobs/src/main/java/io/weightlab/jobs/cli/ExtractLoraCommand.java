package io.weightlab.jobs.cli;

import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.weights.ExtractLoraJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "extract-lora", mixinStandardHelpOptions = true,
        description = {"A fine-tune's difference from its base as a PEFT LoRA adapter: per targeted module the top singular",
                "triplets of dW = W_ft - W_base (full SVD in double), A = sqrt(S) Vt, B = U sqrt(S), lora_alpha = rank so the",
                "scaling is 1 (mergekit's extract_lora semantics). Modules with dW = 0 get no adapter; each module's residual",
                "energy ||dW - BA|| / ||dW|| goes into weightlab_provenance.json (docs/algorithms.md).",
                "--include embeddings,head adds the embeddings (PEFT's embedding LoRA) and the LM head (a Linear LoRA); a head",
                "tied to the embedding is extracted once, as the embedding."})
public class ExtractLoraCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "the fine-tuned checkpoint (safetensors file or directory, any Hadoop URI)")
    String finetuned;

    @Option(names = "--base", required = true, description = "the base model the fine-tune started from")
    String base;

    @Option(names = {"--r", "-r"}, defaultValue = "16", description = "largest rank per module (default: ${DEFAULT-VALUE}); less when dW has fewer non-zero singular values")
    int r;

    @Option(names = "--rank-pattern", paramLabel = "KEY=R", description = "largest rank per module instead of --r where KEY matches the module path's tail (PEFT's rank_pattern keys); repeatable")
    java.util.Map<String, Integer> rankPattern = new java.util.LinkedHashMap<>();

    @Option(names = "--rank-by-energy", defaultValue = "1", description = "per module the smallest rank (<= --r) whose top singular values hold this fraction of sum(sigma^2) (default: ${DEFAULT-VALUE}, off)")
    double energy;

    @Option(names = "--sv-epsilon", defaultValue = "0", description = "keep only singular values above this (default: ${DEFAULT-VALUE})")
    double epsilon;

    @Option(names = "--target-modules", split = ",", defaultValue = "all-linear", description = "module names (exact or dotted suffix), one regex, or all-linear (default: ${DEFAULT-VALUE})")
    List<String> targets = new ArrayList<>();

    @Option(names = "--include", split = ",", description = {"also extract: embeddings (as PEFT's lora_embedding_A/B), head (lm_head as a Linear);",
            "both take the Gram route in row slices, memory ~ hidden^2 rather than vocab x hidden (default: neither)"})
    List<String> include = List.of();

    @Option(names = "--task-type", description = "PEFT task_type written to adapter_config.json, e.g. CAUSAL_LM")
    String taskType;

    @Option(names = "--method", defaultValue = "auto", description = {"how each linear module's top r is found: exact (the full SVD), randomized",
            "(the range finder with r + 10 directions), or auto (default: randomized where it does at least 4x less arithmetic,",
            "e.g. modules whose short side is >= 520 at r = 16; docs/algorithms.md). The residual energy is measured either way."})
    String method;

    @Option(names = "--power-iterations", defaultValue = "4", description = "power iterations of the randomized method (default: ${DEFAULT-VALUE})")
    int powerIterations;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the randomized method's test matrices, drawn per module from it and the module's name (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    private ExtractLoraJob.Method method() {
        try {
            return ExtractLoraJob.Method.valueOf(method.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new io.weightlab.common.error.UsageException("--method must be auto, exact or randomized, not '" + method + "'"
                    + io.weightlab.common.error.Suggestions.didYouMean(method, List.of("auto", "exact", "randomized")));
        }
    }

    @Override
    public Integer call() {
        try (SparkSupport.Handle h = SparkSupport.open("weightlab extract-lora", spark.master, spark.conf)) {
            ExtractLoraJob.run(h.context(), new ExtractLoraJob.Options(finetuned, base, output.out, output.overwrite, r, energy, epsilon,
                    targets, taskType, rankPattern, new java.util.LinkedHashSet<>(include), method(), powerIterations, seed), System.out);
            System.out.println("output: " + output.out + "  (adapter_config.json, adapter_model.safetensors, weightlab_provenance.json)");
            return 0;
        }
    }
}
