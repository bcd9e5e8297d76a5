package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.analysis.FleetStatsJob;
import io.weightlab.jobs.analysis.StatsJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "stats", mixinStandardHelpOptions = true,
        description = {"Per-tensor statistics (moments, norms, zeros, NaN/Inf, quantiles) computed on executors from row slices,",
                "merged exactly, rolled up per layer, module kind, role and model.",
                "Writes stats.json, stats.csv, stats.parquet and report.html into --out."})
public class StatsCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "CHECKPOINT", description = {"checkpoint: .safetensors file, index.json, directory or glob (file://, hdfs://, s3a://);",
            "several, or --inputs, or --fleet: a fleet (docs/fleet.md), where a glob matches whole checkpoints"})
    java.util.List<String> inputs = new java.util.ArrayList<>();

    @Mixin
    FleetOptions fleet;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Mixin
    QuantizationOptions quantization;

    @Mixin
    SliceOptions slices;

    @Option(names = "--gg-fit", defaultValue = "mle", description = "generalized-Gaussian fit: mle (on all values), moments, none (default: ${DEFAULT-VALUE})")
    String ggFit;

    @Option(names = "--histogram-tensor", description = "tensor whose histogram the report plots (default: the first MLP down projection)")
    String histogramTensor;

    @Override
    public Integer call() {
        StatsJob.GgMode gg;
        try {
            gg = StatsJob.GgMode.valueOf(ggFit.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--gg-fit must be mle, moments or none");
        }
        long sliceBytes = slices.sliceBytes();
        // local mode runs the tasks in this JVM: the slice loops get compiled while Spark starts (BENCHMARKS.md, fleet)
        if (Boolean.parseBoolean(System.getProperty("weightlab.kernel-warm-up", "true")) && io.weightlab.jobs.spark.SparkSupport.isLocal(spark.master, spark.conf)) {
            io.weightlab.common.stats.KernelWarmUp.startInBackground();
        }
        if (fleet.isFleet(inputs)) {
            if (histogramTensor != null) throw new UsageException("--histogram-tensor applies to one checkpoint, not to a fleet");
            io.weightlab.jobs.spark.JobRun.checkOut(output.out, io.weightlab.jobs.spark.JobRun.Output.REQUIRED, "the fleet's Parquet dataset");
            FleetStatsJob.Options o = new FleetStatsJob.Options(inputs, fleet.inputsFile, output.out, fleet.mode(output.overwrite),
                    fleet.prune, fleet.bad(), sliceBytes, quantization.dequantize(), quantization.blockSize(), gg);
            try (SparkSupport.Handle h = SparkSupport.open("weightlab stats", spark.master, spark.conf)) {
                FleetStatsJob.Result r = FleetStatsJob.run(h.context(), o, System.out);
                FleetStatsJob.printSummary(r, output.out, System.out);
                return 0;
            }
        }
        if (inputs.isEmpty()) throw new UsageException("stats: name a checkpoint (or several, or --inputs FILE)");
        String input = inputs.get(0);
        try (SparkSupport.Handle h = SparkSupport.open("weightlab stats", spark.master, spark.conf)) {
            StatsJob.Result r = StatsJob.run(h.context(), new StatsJob.Options(input, output.out, output.overwrite,
                    sliceBytes, quantization.dequantize(), quantization.blockSize(), gg, histogramTensor), System.out);
            StatsJob.printSummary(r, output.out, System.out);
            return 0;
        }
    }
}
