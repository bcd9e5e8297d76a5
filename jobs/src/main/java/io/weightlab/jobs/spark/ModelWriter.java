package io.weightlab.jobs.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.io.ShardPlan;
import io.weightlab.common.model.DType;
import io.weightlab.common.report.Tables;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.transform.TransformedShardWriter;
import org.apache.hadoop.fs.FSDataOutputStream;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one call that writes a model into a job's output (docs/design.md, "One model-writer call"): the shards on the
 * executors ({@link WeightWriter}), the small files beside the source (config.json, tokenizer; {@link CheckpointSiblings})
 * or the job's own config.json, then the index. Used by rescale, the lora-init residual, synth, upcycle, shrink and
 * grow; fedavg's model and the federated LoRA merge take the same call.
 */
public final class ModelWriter {
    /** Every job that writes weights records its run and every tensor's rule here. */
    public static final String PROVENANCE = OutputNames.PROVENANCE;

    /**
     * What to write: {@code prefix} inside the output ("" or e.g. "residual/"), the tensors' plans and their shard split,
     * the metadata every shard records, the directory (or a file in it) whose config/tokenizer files are copied (null:
     * none), the output dtype written into the copied config.json (null: as stored), and a config.json of the job's own
     * that replaces the source's (null: the source's is copied).
     */
    public record Model(String prefix, List<TransformPlanner.Planned> tensors, ShardPlan plan, Map<String, String> metadata,
                        String siblingsOf, DType outDType, JsonNode config) {
        /** A model whose tensors are split as Hugging Face does, at most {@code maxShardBytes} a shard. */
        public static Model of(String prefix, List<TransformPlanner.Planned> tensors, long maxShardBytes, Map<String, String> metadata,
                               String siblingsOf, DType outDType, JsonNode config) {
            return new Model(prefix, tensors, WeightWriter.shardPlan(tensors, maxShardBytes), metadata, siblingsOf, outDType, config);
        }
    }

    /** What was written: each shard's result by file name, and the sibling files copied ("skipped: ..." for those not). */
    public record Written(Map<String, TransformedShardWriter.ShardResult> shards, List<String> copied) {
        public long bytes() {
            return shards.values().stream().mapToLong(TransformedShardWriter.ShardResult::length).sum();
        }
    }

    private ModelWriter() {}

    /** The shard metadata of a job that makes a new model: the format and the job's name. */
    public static Map<String, String> jobMetadata(String job) {
        return Map.of("format", "pt", "weightlab.job", job);
    }

    /** Writes {@code m} into the run's staged output (not committed: the job's {@link JobRun#commitAfter} does that). */
    public static Written write(JobRun run, Model m) {
        StagedOutput out = run.staged();
        // one task per shard, largest first (as WeightWriter submits them)
        ProgressReporter progress = run.progress(m.plan().shards().stream().map(ShardPlan.Shard::dataBytes).sorted(java.util.Comparator.reverseOrder())
                .mapToLong(Long::longValue).toArray());
        Map<String, TransformedShardWriter.ShardResult> shards = WeightWriter.write(run.jsc(), run.conf(), out, m.prefix(), m.plan(), m.tensors(), m.metadata());
        run.endProgress(progress);
        List<String> copied = m.siblingsOf() == null ? new ArrayList<>()
                : CheckpointSiblings.copy(run.hadoop(), m.siblingsOf(), out, m.prefix(), m.outDType());
        try {
            if (m.config() != null) {
                if (copied.contains(CheckpointSiblings.CONFIG)) out.fileSystem().delete(out.stagedFile(m.prefix() + CheckpointSiblings.CONFIG), false);
                out.writeString(m.prefix() + CheckpointSiblings.CONFIG,
                        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m.config()));
            } else if (m.siblingsOf() != null && !copied.contains(CheckpointSiblings.CONFIG)) {
                run.console().printf("[%s] warning: no %s beside %s to copy into %s; transformers cannot load the weights without one%n",
                        run.job(), CheckpointSiblings.CONFIG, m.siblingsOf(), m.prefix().isEmpty() ? "the output" : m.prefix());
            }
        } catch (IOException e) {
            throw new WeightLabException(out.outputDir() + ": writing " + m.prefix() + CheckpointSiblings.CONFIG + " failed: " + e.getMessage(), e);
        }
        WeightWriter.writeIndex(out, m.prefix(), m.plan());
        return new Written(shards, copied);
    }

    /** The provenance file: the run facts and one row per tensor (or module). */
    public static void writeProvenance(StagedOutput out, Map<String, Object> run, String rowsKey, List<Map<String, Object>> rows) {
        writeProvenance(out, "", run, rowsKey, rows);
    }

    /** The provenance file of a model written under {@code prefix} of the output ("" or e.g. "top/1-name/"). */
    public static void writeProvenance(StagedOutput out, String prefix, Map<String, Object> run, String rowsKey, List<Map<String, Object>> rows) {
        try (FSDataOutputStream os = out.create(prefix + PROVENANCE)) {
            Map<String, Object> doc = new java.util.LinkedHashMap<>();
            doc.put("run", run);
            doc.put(rowsKey, rows);
            Tables.writeJson(os, doc);
        } catch (IOException e) {
            throw new WeightLabException(out.outputDir() + ": writing " + prefix + PROVENANCE + " failed: " + e.getMessage(), e);
        }
    }

    /** One provenance row per planned tensor: name, rule and what was done. */
    public static List<Map<String, Object>> planRows(List<TransformPlanner.Planned> plans) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (TransformPlanner.Planned p : plans) rows.add(Map.of("name", p.tensor().name(), "rule", p.rule(), "action", p.action().describe(), "why", p.why()));
        return rows;
    }
}
