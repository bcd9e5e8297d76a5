package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.jobs.analysis.CompareJob;
import io.weightlab.jobs.analysis.FleetCompareJob;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.SparkSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Compares a reference checkpoint W_0 (e.g. the initialisation) with one checkpoint or a series (every saved step,",
                "or many seeds), joined by tensor name: layer rotation 1 - cos(W_t, W_0) per tensor and per layer, relative change,",
                "numerical/stable/effective rank of dW = W_t - W_0 per matrix, and the shift of std, kurtosis and GG shape.",
                "  weightlab compare init/ step-1000/ step-2000/ step-4000/ --out cmp/",
                "With --against, a fleet (docs/fleet.md): every checkpoint against its reference, into one Parquet dataset by model and step:",
                "  weightlab compare --against previous 'runs/*/checkpoint-*' --out cmp-fleet/"})
public class CompareCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "CHECKPOINT", description = {
            "REFERENCE CHECKPOINT...: the reference W_0, then the checkpoints to compare with it, in series order (file://, hdfs://, s3a://).",
            "A PEFT LoRA adapter directory stands for the reference merged with it (W + s*B*A; dW ranks from the factors, docs/algorithms.md 7.2).",
            "With --against: the fleet's checkpoints and globs."})
    List<String> inputs = new ArrayList<>();

    @Option(names = "--against", paramLabel = "first|previous|FILE", description = {
            "compare a fleet (inputs as stats takes them: URIs, globs, --fleet, --inputs FILE), each checkpoint against:",
            "first: its series' first checkpoint; previous: its predecessor; FILE: that one fixed checkpoint.",
            "A series is one model label in step order, or the whole fleet in input order when no checkpoint has a step.",
            "Writes one Parquet dataset partitioned by model and step; a tensor of another shape always fails (docs/fleet.md)."})
    String against;

    @Mixin
    FleetOptions fleet;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--include-biases", description = "also compare 1-D tensors (biases, norms); by default kernels only, as the layer-rotation paper")
    boolean includeBiases;

    @Option(names = "--strict", description = "fail when a tensor is missing or shaped differently, instead of listing it as not compared")
    boolean strict;

    @Option(names = "--rank-tol", split = ",", defaultValue = "0.01,0.001", description = "relative tolerances tau of the numerical rank #{s > tau*s1} of dW (default: ${DEFAULT-VALUE})")
    double[] tolerances;

    @Option(names = "--no-delta-rank", description = "skip the SVD of dW (rotation, change and shift only)")
    boolean noDeltaRank;

    @Option(names = "--max-exact-mb", defaultValue = "auto", description = "largest dW, as float64 MiB, to factorize (default: ${DEFAULT-VALUE}, executor heap / (3 x task slots), as spectrum)")
    String maxExactMb;

    @Mixin
    SliceOptions slices;

    @Override
    public Integer call() {
        long sliceBytes = slices.sliceBytes();
        long maxExact = SpectrumCommand.maxExactBytes(maxExactMb);
        for (double t : tolerances) if (!(t > 0 && t < 1)) throw new UsageException("--rank-tol values must be in (0, 1), got " + t);
        if (against != null) {
            JobRun.checkOut(output.out, JobRun.Output.REQUIRED, "the fleet comparison's Parquet dataset");
            FleetCompareJob.Options o = new FleetCompareJob.Options(inputs, fleet.inputsFile, output.out, fleet.mode(output.overwrite), fleet.prune,
                    fleet.bad(), against, includeBiases, strict, tolerances, !noDeltaRank, maxExact, sliceBytes);
            try (SparkSupport.Handle h = SparkSupport.open("weightlab compare", spark.master, spark.conf)) {
                FleetCompareJob.printSummary(FleetCompareJob.run(h.context(), o, System.out), output.out, System.out);
                return 0;
            }
        }
        if (fleet.append || fleet.prune || !"fail".equals(fleet.badCheckpoints)) {
            throw new UsageException("--append, --prune and --bad-checkpoints update a fleet comparison's dataset: they go with --against");
        }
        if (fleet.inputsFile != null || fleet.fleet) {
            throw new UsageException("--inputs and --fleet compare a fleet: say what each checkpoint is compared against with --against first|previous|FILE");
        }
        if (inputs.size() < 2) throw new UsageException("compare: name the reference and at least one checkpoint (or a fleet with --against)");
        try (SparkSupport.Handle h = SparkSupport.open("weightlab compare", spark.master, spark.conf)) {
            CompareJob.run(h.context(), new CompareJob.Options(inputs.get(0), new ArrayList<>(inputs.subList(1, inputs.size())), output.out, output.overwrite,
                    includeBiases, strict, tolerances, !noDeltaRank, maxExact, sliceBytes), System.out);
            return 0;
        }
    }
}
