package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.jobs.weights.LoraInitJob;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.common.method.MethodCatalog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "lora-init", mixinStandardHelpOptions = true,
        description = {"LoRA adapters initialised from the base weights, in PEFT's format (<out>/adapter/), and for methods that",
                "change the base (pissa, pissa_niter_K, milora, olora, lora_ga) the residual checkpoint W - s*B*A (<out>/residual/).",
                "Load with PeftModel.from_pretrained(AutoModel.from_pretrained('<out>/residual'), '<out>/adapter')."})
public class LoraInitCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "base checkpoint: .safetensors file, index.json, directory or glob (file://, hdfs://, s3a://)")
    String input;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--method", defaultValue = "pissa", description = {"from weights: pissa, pissa_niter_K, milora, olora, mica;",
            "plain: kaiming (PEFT's True), gaussian, orthogonal; from gradients (--gradients): lora_ga, lora_sb;",
            "from activations (--activations): eva; parameters inline: --method lora_ga:variant=original,stable_gamma=8",
            "(--list-methods shows them all) (default: ${DEFAULT-VALUE})"})
    String method;

    @Option(names = "--list-methods", help = true, description = "print every LoRA init with its parameters (type, range, default) and exit")
    boolean listMethods;

    @Option(names = "--init-param", description = "alias of --method NAME:KEY=VALUE (the old spelling): KEY=VALUE for the method; repeatable")
    Map<String, String> initParams = new LinkedHashMap<>();

    @Option(names = "--gradients", description = "accumulated gradients, a safetensors checkpoint with the base's tensor names (tools/weightlab_collect.py gradients)")
    String gradients;

    @Option(names = "--activations", description = "input-activation statistics for eva (tools/weightlab_collect.py activations; docs/activation-stats.md)")
    String activations;

    @Option(names = {"--r", "-r"}, defaultValue = "8", description = "rank (default: ${DEFAULT-VALUE})")
    int r;

    @Option(names = "--alpha", defaultValue = "8", description = "lora_alpha (default: ${DEFAULT-VALUE}, as PEFT)")
    double alpha;

    @Option(names = "--use-rslora", description = "scaling alpha/sqrt(r) instead of alpha/r")
    boolean rslora;

    @Option(names = "--target-modules", split = ",", description = "module names (exact or dotted suffix), one regex, or all-linear")
    List<String> targets = new ArrayList<>();

    @Option(names = "--rank-pattern", description = "KEY=R, per-module rank (PEFT rank_pattern); repeatable")
    Map<String, Integer> rankPattern = new LinkedHashMap<>();

    @Option(names = "--alpha-pattern", description = "KEY=ALPHA, per-module alpha (PEFT alpha_pattern); repeatable")
    Map<String, Double> alphaPattern = new LinkedHashMap<>();

    @Option(names = "--seed", defaultValue = "0", description = "seed for randomized SVD and plain inits (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest residual shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Option(names = "--task-type", description = "PEFT task_type written to adapter_config.json, e.g. CAUSAL_LM")
    String taskType;

    @Option(names = "--rank-by-energy", description = {"choose each module's rank as the smallest r whose top singular values hold this",
            "fraction of sum(sigma^2), from --spectrum (a `weightlab spectrum` output of the base, or of the gradients for lora_ga)"})
    Double rankByEnergy;

    @Option(names = "--rank-by", description = {"mp-spikes: each module's rank is its weight's number of eigenvalues above the Marchenko-Pastur",
            "bulk edge (with the Tracy-Widom margin; at least 1), from --spectrum (docs/algorithms.md)"})
    String rankBy;

    @Option(names = "--spectrum", description = "spectrum output directory or its singular_values.json, for --rank-by-energy or --rank-by")
    String spectrum;

    @Option(names = "--rank-budget", description = "total rank over all modules for --rank-by-energy or --rank-by (default: r x modules)")
    Integer rankBudget;

    @Option(names = "--resume", description = "take over the staging of an interrupted run with the same inputs and options: modules already factored and residual shards already written are kept")
    boolean resume;

    @Option(names = "--layout", description = "auto (default: conv1d for GPT-2-style config.json), linear ([out, in]), conv1d ([in, out], PEFT's fan_in_fan_out)")
    String layout = "auto";

    @Override
    public Integer call() {
        if (listMethods) {
            System.out.print(io.weightlab.common.lora.LoraRegistry.catalog().listing());
            return 0;
        }
        Map.Entry<String, Map<String, String>> spec = MethodCatalog.parseSpec(method);
        Map<String, String> params = new LinkedHashMap<>(spec.getValue());
        params.putAll(initParams);
        if (r < 1) throw new UsageException("--r must be >= 1");
        if (!(alpha > 0)) throw new UsageException("--alpha must be > 0");
        if (rankByEnergy != null && spectrum == null) throw new UsageException("--rank-by-energy needs --spectrum <spectrum output>");
        if (rankBy != null) {
            if (!rankBy.equals("mp-spikes")) throw new UsageException("--rank-by takes mp-spikes, not '" + rankBy + "'"
                    + io.weightlab.common.error.Suggestions.didYouMean(rankBy, java.util.List.of("mp-spikes")));
            if (rankByEnergy != null) throw new UsageException("--rank-by mp-spikes and --rank-by-energy both choose the ranks: give one");
            if (spectrum == null) throw new UsageException("--rank-by mp-spikes needs --spectrum <spectrum output>");
        }
        if (rankBudget != null && rankBy == null && rankByEnergy == null) throw new UsageException("--rank-budget needs --rank-by-energy or --rank-by");
        LoraInitJob.SpectrumRank energy = rankBy != null ? new LoraInitJob.SpectrumRank(true, Double.NaN, spectrum, rankBudget)
                : rankByEnergy == null ? null : new LoraInitJob.SpectrumRank(false, rankByEnergy, spectrum, rankBudget);
        try (SparkSupport.Handle h = SparkSupport.open("weightlab lora-init", spark.master, spark.conf)) {
            LoraInitJob.run(h.context(), new LoraInitJob.Options(input, output.out, output.overwrite, spec.getKey(), r, alpha, rslora, targets,
                    rankPattern.isEmpty() ? null : rankPattern, alphaPattern.isEmpty() ? null : alphaPattern, seed,
                    maxShardBytes, taskType, params, gradients, activations, energy, RescaleCommand.layout(layout), resume), System.out);
            System.out.println("output: " + output.out + "  (adapter/ in PEFT format, residual/ when the method changes the base)");
            return 0;
        }
    }
}
