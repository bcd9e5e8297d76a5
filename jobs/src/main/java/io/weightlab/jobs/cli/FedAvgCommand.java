package io.weightlab.jobs.cli;

import io.weightlab.common.model.DType;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.BadClients;
import io.weightlab.common.fed.Weighting;
import io.weightlab.jobs.federated.FedAvgJob;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.common.fed.AggregatorRegistry;
import io.weightlab.common.fed.LoraAggregatorRegistry;
import io.weightlab.common.fed.ServerOptimizerRegistry;
import io.weightlab.common.method.MethodCatalog;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "fedavg", mixinStandardHelpOptions = true,
        description = {"One server-side federated round over full checkpoints: the new global model in <out>/model/ (safetensors,",
                "index and _SUCCESS last), round_report.json (clients kept/dropped and why, weights, update norms, clip factors,",
                "cosine to the mean update; per tensor: client spread, variance correction) and tensors.csv.",
                "Memory per task does not grow with the number of clients (--memory-budget / K positions per step)."})
public class FedAvgCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "MANIFEST", description = "round manifest (JSON or YAML): round, reference, "
            + "clients: [{id, uri, examples, weight}]; relative URIs are relative to its folder")
    String manifestArgument;

    @Option(names = "--manifest", paramLabel = "MANIFEST", description = "the round manifest: the old spelling of the positional argument")
    String manifest;

    @Option(names = "--clients-prefix", description = "instead of a manifest: one directory per client, each with client.json {\"examples\": N}; _reference/ = previous global")
    String clientsPrefix;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--method", defaultValue = "fedavg", description = {"full checkpoints: fedavg, median, trimmed-mean; LoRA adapters (PEFT dirs): fedit, ffa, stack,",
            "svd, lora-fair; parameters inline: --method trimmed-mean:beta=0.1 (--list-methods shows them all) (default: ${DEFAULT-VALUE})"})
    String method;

    @Option(names = "--list-methods", help = true, description = "print every aggregator, LoRA aggregator and server optimiser with its parameters and exit")
    boolean listMethods;

    @Option(names = "--method-param", description = "alias of --method NAME:KEY=VALUE (the old spelling); repeatable")
    Map<String, String> methodParams = new LinkedHashMap<>();

    @Option(names = "--weighting", defaultValue = "examples", converter = WeightingWord.class,
            description = "examples, uniform or given (the manifest's weights) (default: ${DEFAULT-VALUE})")
    Weighting weighting;

    @Option(names = "--variance-correction", description = "follow-others or conservative (docs/algorithms.md §5.2)")
    String varianceCorrection;

    @Option(names = "--conservative-c", defaultValue = "0.5", description = "share of the reference model in the conservative correction (default: ${DEFAULT-VALUE})")
    double conservativeC;

    @Option(names = "--eps", description = "absolute epsilon of the correction (default 1e-4, the paper's)")
    Double eps;

    @Option(names = "--relative-eps", description = "epsilon relative to the target variance instead")
    Double relativeEps;

    @Option(names = "--correct", defaultValue = "2d", description = "which tensors get the variance correction: 2d (2-D weights) or a name pattern (default: ${DEFAULT-VALUE})")
    String correctPattern;

    @Option(names = "--reject-outliers", description = "drop a client whose update norm exceeds median + Z x 1.4826 MAD (needs reference)")
    Double rejectAbove;

    @Option(names = "--clip", description = {"clip each update (client − reference) to norm TAU: 'median' or a number; with --dp gaussian a number or",
            "adaptive[:initial=0.1,quantile=0.5,lr=0.2,count_stddev=S] (Andrew et al., C carried in server_state/privacy.json)"})
    String clip;

    @Option(names = "--bad-clients", defaultValue = "fail", converter = BadClientsWord.class,
            description = "fail the round, or drop clients that are missing, unreadable, mismatched, NaN/Inf or rejected (default: ${DEFAULT-VALUE})")
    BadClients badClients;

    @Option(names = "--min-clients", defaultValue = "1", description = "with --bad-clients drop: fail unless this many remain (default: ${DEFAULT-VALUE})")
    int minClients;

    @Option(names = "--min-fraction", defaultValue = "0", description = "with --bad-clients drop: fail unless this fraction remains (default: ${DEFAULT-VALUE})")
    double minFraction;

    @Option(names = "--out-dtype", description = "dtype of the global model (default: the template's)")
    String outDType;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest output shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Option(names = "--memory-budget", defaultValue = "256MiB", converter = ByteSize.class, description = "per-task buffer for the clients' values at one step (default: ${DEFAULT-VALUE})")
    long memoryBudget;

    @Option(names = "--server-opt", description = {"after aggregating, a server optimiser step from the reference: fedavgm, fedadam, fedyogi,",
            "fedadagrad; parameters inline: --server-opt fedadam:eta=0.01,tau=1e-3"})
    String serverOpt;

    @Option(names = "--server-opt-param", description = "alias of --server-opt NAME:KEY=VALUE (the old spelling); repeatable")
    Map<String, String> serverOptParams = new LinkedHashMap<>();

    @Option(names = "--server-state", description = "the previous round's <out>/server_state: the server optimiser's state, the DP privacy ledger (omit on the first round)")
    String serverState;

    @Option(names = "--merge-into", description = "LoRA rounds: also write BASE + s*B*A of the aggregate as a full checkpoint into <out>/merged/")
    String mergeInto;

    @Option(names = "--dp", paramLabel = "MECHANISM", description = {"central differential privacy: 'gaussian' clips every update to --clip TAU (a number)",
            "and adds N(0, (z*TAU/K)^2) to the uniform mean of the K clients; needs --weighting uniform, --noise-multiplier,",
            "and --seed or --dp-secure-noise; epsilon composed over rounds in server_state/privacy.json (docs/algorithms.md)"})
    String dp;

    @Option(names = "--noise-multiplier", paramLabel = "Z", description = "with --dp gaussian: noise std over the sensitivity TAU/K")
    Double noiseMultiplier;

    @Option(names = "--sampling-rate", paramLabel = "Q", description = "with --dp gaussian: the rate at which this round's clients were sampled from the population (default 1: no amplification)")
    Double samplingRate;

    @Option(names = "--epsilon-budget", paramLabel = "E", description = "with --dp gaussian: refuse a round that would bring epsilon (composed over the rounds) above E")
    Double epsilonBudget;

    @Option(names = "--delta", paramLabel = "D", defaultValue = "1e-5", description = "with --dp gaussian: the delta of the reported (epsilon, delta) (default: ${DEFAULT-VALUE})")
    double delta;

    @Option(names = "--dp-secure-noise", description = "with --dp gaussian: draw the noise from SecureRandom (not reproducible, no seed to keep secret)")
    boolean dpSecureNoise;

    @Option(names = "--seed", description = "with --dp gaussian: the noise seed; noise is drawn from (seed, round, tensor, block), so a re-run is identical. Keep it secret")
    Long seed;

    @Option(names = "--resume", description = "take over the staging of an interrupted round with the same clients and options: aggregated slices and written shards are kept")
    boolean resume;

    /** The lowercase words users type, case-insensitive; a wrong word is a usage error listing the choices. */
    static final class WeightingWord implements ITypeConverter<Weighting> {
        @Override
        public Weighting convert(String word) { return Weighting.parse(word); }
    }

    static final class BadClientsWord implements ITypeConverter<BadClients> {
        @Override
        public BadClients convert(String word) { return BadClients.parse(word); }
    }

    @Override
    public Integer call() {
        if (listMethods) {
            System.out.println("Aggregators (full checkpoints):\n" + AggregatorRegistry.catalog().listing().indent(2));
            System.out.println("LoRA aggregators (PEFT adapters):\n" + LoraAggregatorRegistry.catalog().listing().indent(2));
            System.out.print("Server optimisers (--server-opt):\n" + ServerOptimizerRegistry.catalog().listing().indent(2));
            return 0;
        }
        Map.Entry<String, Map<String, String>> methodSpec = MethodCatalog.parseSpec(method);
        Map<String, String> aggregatorParams = new LinkedHashMap<>(methodSpec.getValue());
        aggregatorParams.putAll(methodParams);
        Map.Entry<String, Map<String, String>> optSpec = serverOpt == null ? null : MethodCatalog.parseSpec(serverOpt);
        Map<String, String> optParams = new LinkedHashMap<>(optSpec == null ? Map.of() : optSpec.getValue());
        optParams.putAll(serverOptParams);
        if (manifestArgument != null && manifest != null) throw new UsageException("give the manifest once: as the argument or with --manifest, not both");
        if (manifestArgument != null) manifest = manifestArgument;
        DType dt = null;
        if (outDType != null) {
            dt = DType.parse(outDType.toUpperCase(Locale.ROOT));
            if (dt == null) throw new UsageException("--out-dtype " + outDType + ": not a dtype (F32, BF16, F16, F64)");
        }
        if (dp == null && (noiseMultiplier != null || samplingRate != null || epsilonBudget != null || dpSecureNoise || seed != null)) {
            throw new UsageException("--noise-multiplier, --sampling-rate, --epsilon-budget, --dp-secure-noise and --seed apply with --dp gaussian");
        }
        if (dp != null && noiseMultiplier == null) throw new UsageException("--dp " + dp + " needs --noise-multiplier Z");
        FedAvgJob.Dp dpOptions = dp == null ? null : new FedAvgJob.Dp(dp.toLowerCase(Locale.ROOT), noiseMultiplier, samplingRate, epsilonBudget, delta, dpSecureNoise,
                dpSecureNoise ? null : seed, serverState);
        try (SparkSupport.Handle h = SparkSupport.open("weightlab fedavg", spark.master, spark.conf)) {
            FedAvgJob.run(h.context(), new FedAvgJob.Options(manifest, clientsPrefix, output.out, output.overwrite, methodSpec.getKey(), aggregatorParams, weighting,
                    varianceCorrection, conservativeC, eps, relativeEps, correctPattern, rejectAbove, clip, badClients, minClients, minFraction,
                    dt, maxShardBytes, memoryBudget, optSpec == null ? null : new FedAvgJob.ServerOpt(optSpec.getKey(), optParams, serverState), mergeInto, resume, dpOptions), System.out);
            System.out.println("output: " + output.out + "  (model/ or, for LoRA rounds, adapter/; " + FedAvgJob.REPORT + ")");
            return 0;
        }
    }
}
