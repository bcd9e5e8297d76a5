package io.weightlab.jobs.federated;

import io.weightlab.common.fed.BadClients;
import io.weightlab.common.fed.LoraAggregatorRegistry;
import io.weightlab.common.fed.Weighting;
import io.weightlab.common.model.DType;
import io.weightlab.jobs.spark.JobRun;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.io.Serializable;
import java.util.Map;

/**
 * {@code weightlab fedavg}: one server-side federated round. Reads the round's shared inputs once (options, manifest,
 * the clients' validation, Spark, the staged output: {@link RoundInputs}) and dispatches by method: a LoRA aggregator
 * runs {@link LoraAdapterRound} over PEFT adapters, any other {@link FullCheckpointRound} over full checkpoints.
 */
public final class FedAvgJob {
    public static final String MODEL = "model/";
    public static final String REPORT = "round_report.json";
    /** The round's page (clients, tensors, privacy), drawn from round_report.json. */
    public static final String PAGE = "report.html";
    public static final String STATE = "server_state/";

    public record Options(String manifest, String clientsPrefix, String out, boolean overwrite, String method, Map<String, String> methodParams,
                          Weighting weighting, String varianceCorrection, double conservativeC, Double eps, Double relativeEps,
                          String correctPattern, Double rejectAbove, String clip, BadClients badClients, int minClients, double minFraction,
                          DType outDType, long maxShardBytes, long memoryBudget, ServerOpt serverOpt, String mergeInto, boolean resume, Dp dp) implements Serializable {}

    /**
     * Central DP (--dp gaussian): noise multiplier z, client sampling rate q (null: 1), ε budget (null: none), δ,
     * secure noise instead of the seeded streams, the noise seed (null with secure noise), and the previous round's
     * server_state directory holding privacy.json (or null on the first DP round).
     */
    public record Dp(String mechanism, double noiseMultiplier, Double samplingRate, Double epsilonBudget, double delta, boolean secureNoise,
                     Long seed, String stateIn) implements Serializable {}

    /** A server optimiser step after the aggregation: name, parameters, and the previous round's state directory (or null). */
    public record ServerOpt(String name, Map<String, String> params, String stateIn) implements Serializable {}

    /** What --out holds, for its error message. */
    static final String OUT_WHAT = "where the round's global model (or adapter) and its report go";

    private FedAvgJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        long t0 = System.nanoTime();
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, OUT_WHAT);
        try (RoundInputs in = RoundInputs.read(sc, o, console, t0)) {
            return LoraAggregatorRegistry.has(o.method()) ? LoraAdapterRound.run(in) : FullCheckpointRound.run(in);
        }
    }
}
