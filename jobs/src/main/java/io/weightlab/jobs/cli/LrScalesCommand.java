package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.weights.LrScalesJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "lr-scales", mixinStandardHelpOptions = true,
        description = {"SGD-SaI learning-rate scales at initialisation (Xu et al. 2024): per parameter tensor the gradient",
                "signal-to-noise ratio G = ||g|| / (std(g) + eps) at the first step and lr * G / max G, from gradients as",
                "`tools/weightlab_collect.py gradients` writes them. Writes lr_scales.json/.csv/.parquet, param_groups.json",
                "(PyTorch optimizer parameter groups) and report.html (scales by layer, every block)."})
public class LrScalesCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "the model at initialisation (its parameter names and shapes)")
    String model;

    @Option(names = "--gradients", required = true, description = "gradients at initialisation, a safetensors checkpoint with the model's tensor names")
    String gradients;

    @Option(names = "--lr", defaultValue = "0.01", description = "base learning rate (default: ${DEFAULT-VALUE}, SGD-SaI's)")
    double lr;

    @Option(names = "--eps", defaultValue = "1e-8", description = "epsilon added to std(g) (default: ${DEFAULT-VALUE})")
    double eps;

    @Option(names = "--normalize", defaultValue = "max", description = "max (scales G / max G, the reference code since v1.0.4) or none (G itself) (default: ${DEFAULT-VALUE})")
    String normalize;

    @Option(names = "--slice-mb", defaultValue = "64", description = "maximum stored MiB per work unit (default: ${DEFAULT-VALUE})")
    long sliceMb;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() {
        if (!normalize.equals("max") && !normalize.equals("none")) throw new UsageException("--normalize takes max or none, not '" + normalize + "'");
        if (sliceMb <= 0) throw new UsageException("--slice-mb must be positive");
        try (SparkSupport.Handle h = SparkSupport.open("weightlab lr-scales", spark.master, spark.conf)) {
            int n = LrScalesJob.run(h.context(), new LrScalesJob.Options(model, gradients, output.out, output.overwrite, lr, eps,
                    normalize.equals("max"), sliceMb << 20), System.out).size();
            System.out.println("output: " + output.out + "  (" + n + " blocks: lr_scales.json, lr_scales.csv, lr_scales.parquet, "
                    + LrScalesJob.PARAM_GROUPS + ")");
            return 0;
        }
    }
}
