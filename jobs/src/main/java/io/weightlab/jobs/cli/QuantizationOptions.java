package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import picocli.CommandLine.Option;

/** How quantized weights are read, shared by the jobs that analyse values. */
public class QuantizationOptions {
    @Option(names = "--quantized", defaultValue = "dequantize", description = "dequantize (pair weights with _scale/_zero_point/_scale_inv) or raw (stored integers) (default: ${DEFAULT-VALUE})")
    String quantized;

    @Option(names = "--fp8-block", defaultValue = "128,128", split = ",", description = "block size of FP8 weight_scale_inv scales (default: ${DEFAULT-VALUE})")
    int[] blockSize;

    /** Validated: true to dequantize. */
    boolean dequantize() {
        if (!quantized.equals("dequantize") && !quantized.equals("raw")) throw new UsageException("--quantized must be dequantize or raw");
        return quantized.equals("dequantize");
    }

    int[] blockSize() {
        if (blockSize.length != 2 || blockSize[0] <= 0 || blockSize[1] <= 0) throw new UsageException("--fp8-block takes two positive sizes");
        return blockSize;
    }
}
