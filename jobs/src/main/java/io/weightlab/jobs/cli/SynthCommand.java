package io.weightlab.jobs.cli;

import io.weightlab.common.model.DType;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.synth.KindDistribution;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.surgery.SynthJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Writes a synthetic checkpoint with the exact tensor names, shapes, dtype and sharding of a Hugging Face decoder",
                "(LLaMA, Mistral, Qwen2/3, Mixtral, Qwen2-MoE) from its config.json or a preset, values drawn per module kind",
                "from a generalized Gaussian (shape beta, std growing with depth). Executors write the shards; it loads in transformers.",
                "  weightlab synth --preset llama-8b --out /data/llama-8b-synth"})
public class SynthCommand implements Callable<Integer> {
    @Option(names = "--preset", description = "one of llama-tiny, llama-1b (Llama-3.2-1B's shape), llama-8b (Llama-3.1-8B's), mixtral-tiny, qwen2-moe-tiny")
    String preset;

    @Option(names = "--model-config", description = "a Hugging Face config.json (file://, hdfs://, s3a://) to follow instead of a preset")
    String config;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = {"--out-dtype", "--dtype"}, defaultValue = "BF16", description = "BF16, F16, F32 or F64, as every job's --out-dtype "
            + "(--dtype: the old spelling) (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE}, as the hub)")
    long maxShardBytes;

    @Option(names = "--seed", defaultValue = "0", description = "seed; with the tensor name and element block it fixes every value (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--kind", description = "KIND=BETA:STD[:LOCATION] for a module kind (attn_q, attn_k, attn_v, attn_o, mlp_gate, mlp_up, mlp_down, router, embedding, lm_head, norm, other); repeatable")
    List<String> kinds = new ArrayList<>();

    @Option(names = "--depth-slope", defaultValue = "0.5", description = "std of layer l is std·(1 + slope·l/(L-1)) (default: ${DEFAULT-VALUE})")
    double depthSlope;

    @Option(names = "--layers", description = "override num_hidden_layers (a shallower model of the same width)")
    Integer layers;

    @Option(names = "--resume", description = "take over the staging of an interrupted run with the same options: completed shards are kept")
    boolean resume;

    @Override
    public Integer call() {
        DType dt = DType.parse(dtype.toUpperCase(Locale.ROOT));
        if (dt == null || !(dt == DType.BF16 || dt == DType.F16 || dt == DType.F32 || dt == DType.F64)) {
            throw new UsageException("--out-dtype " + dtype + ": one of BF16, F16, F32, F64");
        }
        Map<ModuleKind, KindDistribution.Gg> k = new EnumMap<>(ModuleKind.class);
        for (String s : kinds) {
            Map.Entry<ModuleKind, KindDistribution.Gg> e = KindDistribution.parse(s);
            k.put(e.getKey(), e.getValue());
        }
        try (SparkSupport.Handle h = SparkSupport.open("weightlab synth", spark.master, spark.conf)) {
            SynthJob.run(h.context(), new SynthJob.Options(preset, config, output.out, output.overwrite, dt, maxShardBytes, seed, k, depthSlope,
                    layers, resume), System.out);
            System.out.println("output: " + output.out + "  (safetensors shards, index, config.json, " + io.weightlab.jobs.weights.RescaleJob.PROVENANCE + ")");
            return 0;
        }
    }
}
