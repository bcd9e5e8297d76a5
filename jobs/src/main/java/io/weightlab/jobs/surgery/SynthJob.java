package io.weightlab.jobs.surgery;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ModelWriter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.transform.TransformedShardWriter;
import io.weightlab.common.model.DType;
import io.weightlab.common.commit.ResumeKey;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.synth.DecoderArchitecture;
import io.weightlab.common.synth.GgDrawAction;
import io.weightlab.common.synth.KindDistribution;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code weightlab synth}: a checkpoint with the exact tensor names, shapes and sharding of a Hugging Face decoder
 * (from a config.json or a preset), values drawn per module kind from a generalized Gaussian with layer-dependent
 * std. One task per shard draws and encodes its tensors piece by piece through the shard writer, so memory per task
 * is one piece (1 Mi values) whatever the model's size; the driver holds the tensor list only.
 */
public final class SynthJob {
    public static final List<String> PRESETS = List.of("llama-tiny", "llama-1b", "llama-8b", "mixtral-tiny", "qwen2-moe-tiny");

    public record Options(String preset, String config, String out, boolean overwrite, DType dtype, long maxShardBytes, long seed,
                          Map<ModuleKind, KindDistribution.Gg> kinds, double depthSlope, Integer layers, boolean resume) {}

    private SynthJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the synthetic checkpoint goes");
        try (JobRun run = JobRun.start("synth", sc, console)) {
            return run(run, o);
        }
    }

    private static Map<String, Object> run(JobRun job, Options o) {
        PrintStream console = job.console();
        Configuration hconf = job.hadoop();
        ObjectNode config = config(hconf, o);
        String source = o.config() != null ? o.config() : "preset " + o.preset();
        List<DecoderArchitecture.Tensor> tensors = DecoderArchitecture.tensors(config, source);
        int layers = config.get("num_hidden_layers").asInt();
        KindDistribution dist = new KindDistribution(o.kinds(), o.depthSlope());
        DType dtype = o.dtype() == null ? DType.BF16 : o.dtype();
        config.put("torch_dtype", switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F64 -> "float64";
            default -> "float32";
        });

        List<TransformPlanner.Planned> plans = new ArrayList<>();
        long params = 0;
        for (DecoderArchitecture.Tensor t : tensors) {
            KindDistribution.Gg g = dist.of(t.kind(), t.layer(), layers);
            TensorInfo virtual = new TensorInfo(t.name(), dtype, t.shape(), null, 0, 0);
            params += virtual.elementCount();
            plans.add(new TransformPlanner.Planned(virtual, t.kind().label(), new GgDrawAction(o.seed(), t.name(), g.beta(), g.std(), g.location()),
                    "synthetic " + t.kind().label() + (t.layer() >= 0 ? " layer " + t.layer() : ""), dtype));
        }
        long parameters = params;
        ModelWriter.Model model = ModelWriter.Model.of("", plans, o.maxShardBytes(), ModelWriter.jobMetadata("synth"), null, null, config);
        console.printf("[synth] %s: %s, %d tensors, %.3f B parameters, %s %s in %d shard(s)%n", source, config.path("model_type").asText(),
                tensors.size(), params / 1e9, dtype, Format.bytes(dtype.byteLength(params)), model.plan().shards().size());

        String key = o.resume() ? ResumeKey.of(hconf, "synth").add(config).add(dtype).add(o.maxShardBytes()).add(o.seed())
                .add(new TreeMap<>(dist.table())).add(o.depthSlope()).hash() : null;
        job.output(o.out(), JobRun.Output.REQUIRED, "where the synthetic checkpoint goes", o.overwrite(), key);
        return job.commitAfter("the synthetic checkpoint", () -> {
                Map<String, TransformedShardWriter.ShardResult> shards = ModelWriter.write(job, model).shards();
                Map<String, Object> run = job.facts();
                run.put("source", source);
                run.put("model_type", config.path("model_type").asText());
                run.put("parameters", parameters);
                run.put("dtype", dtype.name());
                run.put("seed", o.seed());
                run.put("depth_slope", o.depthSlope());
                Map<String, Object> kinds = new TreeMap<>();
                dist.table().forEach((k, g) -> kinds.put(k.label(), Map.of("beta", g.beta(), "std_layer0", g.std(), "location", g.location())));
                run.put("kinds", kinds);
                long bytes = shards.values().stream().mapToLong(TransformedShardWriter.ShardResult::length).sum();
                run.put("bytes_out", bytes);
                run.put("seconds", job.seconds());
                Map<String, MomentAccumulator> written = new LinkedHashMap<>();
                for (TransformedShardWriter.ShardResult r : shards.values()) written.putAll(r.written());
                List<Map<String, Object>> rows = new ArrayList<>();
                for (TransformPlanner.Planned p : plans) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("name", p.tensor().name());
                    row.put("module_kind", p.rule());
                    row.put("shape", p.tensor().shapeList());
                    row.put("distribution", p.action().describe());
                    MomentAccumulator m = written.get(p.tensor().name());
                    if (m != null) { // drawn values before the cast (absent for shards a resumed run kept)
                        row.put("mean", m.mean());
                        row.put("std", m.stdPopulation());
                    }
                    rows.add(row);
                }
                ModelWriter.writeProvenance(job.staged(), run, "tensors", rows);
                console.printf("[synth] wrote %s in %d shard(s) to %s in %.1f s%n", Format.bytes(bytes), shards.size(), o.out(), (double) run.get("seconds"));
                return run;
        });
    }

    /** The config.json to follow: a file (any file system) or a preset shipped in the jar; --layers overrides the depth. */
    static ObjectNode config(Configuration conf, Options o) {
        if ((o.preset() == null) == (o.config() == null)) throw new UsageException("give exactly one of --preset " + PRESETS + " or --model-config config.json");
        JsonNode root;
        try {
            if (o.config() != null) {
                root = new ObjectMapper().readTree(CheckpointSiblings.readSmall(conf, o.config()));
            } else {
                String name = o.preset().toLowerCase(Locale.ROOT);
                if (!PRESETS.contains(name)) throw new UsageException("--preset " + o.preset() + ": unknown; one of " + PRESETS);
                try (InputStream in = SynthJob.class.getResourceAsStream("/io/weightlab/synth/" + name + ".json")) {
                    root = new ObjectMapper().readTree(in);
                }
            }
        } catch (IOException e) {
            throw new UsageException((o.config() != null ? o.config() : o.preset()) + ": not a readable config.json: " + e.getMessage());
        }
        if (!(root instanceof ObjectNode c)) throw new UsageException(o.config() + ": config.json must be a JSON object");
        if (o.layers() != null) {
            if (o.layers() < 1) throw new UsageException("--layers must be >= 1");
            c.put("num_hidden_layers", o.layers());
        }
        return c;
    }
}
