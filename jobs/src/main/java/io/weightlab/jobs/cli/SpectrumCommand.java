package io.weightlab.jobs.cli;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.PowerLawOptions;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.analysis.FleetSpectrumJob;
import io.weightlab.jobs.analysis.SpectrumJob;
import io.weightlab.jobs.spark.JobRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "spectrum", mixinStandardHelpOptions = true,
        description = {"All singular values of every weight matrix (in double, one matrix per task: the Gram route where its accuracy",
                "certificate holds, else LAPACK dgesdd; docs/algorithms.md) and the",
                "WeightWatcher metrics: sv_max, stable/effective rank, entropy, power-law alpha, D, alpha_weighted, ...",
                "Writes spectrum.json, spectrum.csv, spectrum.parquet and singular_values.json into --out.",
                "A fleet (several inputs, --inputs or --fleet; docs/fleet.md, Fleet spectrum)",
                "writes one Parquet dataset by model and step (--append: new or changed only):",
                "  weightlab spectrum 'runs/*/checkpoint-*' --fleet --out spectra/ --append"})
public class SpectrumCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "CHECKPOINT", description = {"checkpoint: .safetensors file, index.json, directory or glob; or a PEFT LoRA adapter directory;",
            "several, or --inputs, or --fleet: a fleet of full checkpoints (docs/fleet.md), where a glob matches whole checkpoints"})
    List<String> inputs = new java.util.ArrayList<>();

    @Mixin
    FleetOptions fleet;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Mixin
    QuantizationOptions quantization;

    private static final List<String> INCLUDABLE = List.of("embeddings", "head");

    @Option(names = "--include", split = ",", description = "also analyse: embeddings, head (WeightWatcher drops them silently)")
    List<String> include = List.of();

    @Option(names = "--max-exact-mb", defaultValue = "auto", description = {"largest matrix, as float64 MiB, factorized whole on one executor; larger ones",
            "take the distributed Gram route (default: ${DEFAULT-VALUE} = executor heap / (3 x tasks per executor), at most 4096)"})
    String maxExactMb;

    @Option(names = "--no-powerlaw", description = "skip the power-law fit of the eigenvalue tail")
    boolean noPowerLaw;

    @Option(names = "--fit", defaultValue = "PL", description = {"tail model, WeightWatcher's fit: PL (power law), TPL (truncated power law x^-a e^-Lx,",
            "adds the tpl_* columns), E_TPL (TPL with --fix-fingers xmin_peak) (default: ${DEFAULT-VALUE}; docs/algorithms.md 7.6)"})
    String fit;

    @Option(names = "--fix-fingers", defaultValue = "none", description = {"WeightWatcher's fix for a few outsized eigenvalues: xmin_peak (search xmin near the",
            "peak of the log-ESD), clip_xmax (refit PL without the top values) or none (default: ${DEFAULT-VALUE})"})
    String fixFingers;

    @Option(names = "--xmin-min", description = "lowest eigenvalue (lambda = sigma^2) tried as xmin (default: none; xmin_peak's own bound)")
    Double xminMin;

    @Option(names = "--xmin-max", description = "highest eigenvalue tried as xmin (default: none; 1.5 x peak with xmin_peak)")
    Double xminMax;

    @Option(names = "--detx", description = "also WeightWatcher's detX (detx_num, detx_val) and the PL alpha with xmin at detX")
    boolean detx;

    static final List<String> METHODS = List.of("auto", "exact", "randomized");

    @Option(names = "--method", defaultValue = "auto", description = {"auto (all values: the Gram matrix's eigenvalues where certified to 8 digits, else dgesdd),",
            "exact (all values, dgesdd always) or randomized (top-k, block Krylov) (default: ${DEFAULT-VALUE})"})
    String method;

    @Option(names = "--top-k", defaultValue = "64", description = "singular values per matrix with --method randomized (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--power-iterations", defaultValue = "4", description = "power iterations of the randomized method (default: ${DEFAULT-VALUE})")
    int powerIterations;

    @Option(names = "--randomize", description = {"also the correlation traps of every matrix factorized whole: its elements permuted (seeded by",
            "--seed and the tensor name), that ESD's MP fit, its spikes (traps) and rand_distance (docs/algorithms.md; one more SVD each)"})
    boolean randomize;

    @Option(names = "--vectors", description = {"also WeightWatcher's eigenvector localisation of every matrix factorized whole (one more dgesdd each):",
            "{bulk,tail}_{mean,var}_{vec_entropy,loc_ratio,part_ratio}, split at the power-law xmin (docs/algorithms.md 7.7)"})
    boolean vectors;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the random test matrices (with the tensor name) (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--factors", defaultValue = "0", description = "also write the top-r factors U, S, V of every exactly factorized matrix to <out>/factors/ (F64 safetensors; not over a fleet)")
    int factors;

    @Option(names = "--base", description = {"with a PEFT adapter directory as input: the model it adapts; the ESD of each merged W + s·B·A",
            "(route lora_with_base) instead of the update s·B·A alone (route lora_factors); not over a fleet"})
    String base;

    /** --max-exact-mb as bytes: 0 for auto (the job sizes it from the executor heap). */
    static long maxExactBytes(String mb) {
        if (mb.equals("auto")) return 0;
        try {
            long v = Long.parseLong(mb);
            if (v <= 0) throw new UsageException("--max-exact-mb must be auto or a positive number of MiB, not " + v);
            return v << 20;
        } catch (NumberFormatException e) {
            throw new UsageException("--max-exact-mb must be auto or a number of MiB, not '" + mb + "'");
        }
    }

    @Override
    public Integer call() {
        if (!METHODS.contains(method)) throw new UsageException("--method takes auto, exact, randomized; not '" + method + "'" + Suggestions.didYouMean(method, METHODS));
        if (randomize && method.equals("randomized")) throw new UsageException("--randomize needs whole spectra (--method exact or auto): the traps come from the MP fit of the permuted matrix's full ESD");
        if (vectors && method.equals("randomized")) throw new UsageException("--vectors needs whole factorizations (--method exact or auto): the top-k Krylov route keeps no singular vectors of the whole spectrum's bulk");
        if (topK <= 0 || powerIterations < 0) throw new UsageException("--top-k must be positive and --power-iterations non-negative");
        Set<String> inc = new LinkedHashSet<>(include);
        for (String s : inc) {
            if (!INCLUDABLE.contains(s)) throw new UsageException("--include takes embeddings, head; not '" + s + "'" + Suggestions.didYouMean(s, INCLUDABLE));
        }
        long maxExact = maxExactBytes(maxExactMb);
        PowerLawOptions tailFit = PowerLawOptions.parse(fit, fixFingers, xminMin, xminMax, detx);
        if (noPowerLaw && !tailFit.isDefault()) throw new UsageException("--no-powerlaw skips the tail fit that --fit, --fix-fingers, --xmin-min/--xmin-max and --detx configure");
        if (fleet.isFleet(inputs)) {
            if (base != null) throw new UsageException("--base goes with one PEFT adapter directory; a fleet spectrum takes full checkpoints");
            if (factors > 0) throw new UsageException("--factors writes factor files per checkpoint; a fleet spectrum writes only its Parquet dataset");
            JobRun.checkOut(output.out, JobRun.Output.REQUIRED, "the fleet's Parquet dataset");
            FleetSpectrumJob.Options o = new FleetSpectrumJob.Options(inputs, fleet.inputsFile, output.out, fleet.mode(output.overwrite), fleet.prune,
                    fleet.bad(), options(null, null, false, inc, maxExact, tailFit));
            try (SparkSupport.Handle h = SparkSupport.open("weightlab spectrum", spark.master, spark.conf)) {
                FleetSpectrumJob.printSummary(FleetSpectrumJob.run(h.context(), o, System.out), output.out, System.out);
                return 0;
            }
        }
        if (inputs.isEmpty()) throw new UsageException("spectrum: name a checkpoint (or several, or --inputs FILE)");
        try (SparkSupport.Handle h = SparkSupport.open("weightlab spectrum", spark.master, spark.conf)) {
            List<SpectrumJob.MatrixResult> r = SpectrumJob.run(h.context(), options(inputs.get(0), output.out, output.overwrite, inc, maxExact, tailFit),
                    base, System.out);
            SpectrumJob.printSummary(r, output.out, System.out);
            return 0;
        }
    }

    private SpectrumJob.Options options(String input, String out, boolean overwrite, Set<String> inc, long maxExact, PowerLawOptions tailFit) {
        return new SpectrumJob.Options(input, out, overwrite, inc, maxExact, !noPowerLaw, quantization.blockSize(), quantization.dequantize(),
                method.equals("randomized"), topK, powerIterations, seed, factors, null, randomize, !method.equals("exact"), tailFit, vectors);
    }
}
