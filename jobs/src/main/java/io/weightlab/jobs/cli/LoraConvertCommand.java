package io.weightlab.jobs.cli;

import io.weightlab.jobs.weights.LoraConvertJob;
import io.weightlab.jobs.spark.SparkSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "lora-convert", mixinStandardHelpOptions = true,
        description = {"A trained adapter from a base-changing init (pissa, milora, olora, lora_ga) plus the initial adapter",
                "lora-init wrote -> one plain LoRA of rank 2r for the ORIGINAL base (A' = [A; A0], B' = [B | -B0],",
                "lora_alpha doubled, or times sqrt(2) with rslora), as PEFT's path_initial_model_for_weight_conversion."})
public class LoraConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "the trained adapter directory (or its adapter_model.safetensors)")
    String trained;

    @Option(names = "--initial", required = true, description = "the initial adapter, e.g. <lora-init out>/adapter")
    String initial;

    @Option(names = "--base-model", description = "base_model_name_or_path to write (default: the base lora-init read, from its provenance)")
    String baseModel;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Override
    public Integer call() {
        try (SparkSupport.Handle h = SparkSupport.open("weightlab lora-convert", spark.master, spark.conf)) {
            LoraConvertJob.run(h.context(), new LoraConvertJob.Options(trained, initial, output.out, output.overwrite, baseModel), System.out);
            System.out.println("output: " + output.out + "  (load with PeftModel.from_pretrained(<original base>, '" + output.out + "'))");
            return 0;
        }
    }
}
