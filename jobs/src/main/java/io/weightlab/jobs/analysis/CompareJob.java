package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.JobRun;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.CompareReport;
import io.weightlab.common.report.Tables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab compare}: a reference checkpoint W_0 against one or a series of checkpoints W_t, joined by tensor
 * name (the passes: {@link ComparePasses}). Per tensor and per layer: rotation δ (docs/algorithms.md §7.1), relative
 * change, ranks of ΔW (§7.2), and the shift of std, kurtosis and GG shape. Names or shapes that do not match are reported, or fail the job with --strict.
 * A PEFT adapter directory in the series stands for the reference merged with it; its ΔW ranks come from the factors.
 */
public final class CompareJob {
    /**
     * A unit holds at most --slice-mb of stored bytes and at most 4 Mi elements: its sums are plain loops, merged
     * pairwise, so a longer loop would lose digits (δ(W, −W) = 2 exactly on MiniLM's embeddings needs it), and a
     * task holds both checkpoints' unit as doubles (2 x 32 MiB).
     */
    static final long MAX_SLICE_ELEMENTS = 4L << 20;

    public record Options(String reference, List<String> checkpoints, String out, boolean overwrite, boolean includeBiases, boolean strict,
                          double[] tolerances, boolean deltaRank, long maxExactBytes, long sliceBytes) {}

    private CompareJob() {}

    public static Map<String, Object> run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "where the comparison goes");
        if (o.checkpoints().isEmpty()) throw new UsageException("give the reference and at least one checkpoint to compare with it");
        try (JobRun run = JobRun.start("compare", sc, console)) {
            return run(run, o);
        }
    }

    private static Map<String, Object> run(JobRun job, Options o) {
        PrintStream console = job.console();
        Configuration hconf = job.hadoop();
        Checkpoint ref = CheckpointCatalog.open(hconf, o.reference());
        List<ComparePasses.Pair> pairs = new ArrayList<>();
        List<Map<String, Object>> mismatches = new ArrayList<>();
        for (int c = 0; c < o.checkpoints().size(); c++) {
            String adapter = AdapterSpectrum.adapterDir(hconf, o.checkpoints().get(c));
            if (adapter != null) joinAdapter(hconf, ref, adapter, c, o, pairs);
            else ComparePasses.join(ref, CheckpointCatalog.open(hconf, o.checkpoints().get(c)), c, o.checkpoints().get(c), o.includeBiases(), pairs, mismatches);
        }
        if (o.strict() && !mismatches.isEmpty()) {
            Map<String, Object> m = mismatches.get(0);
            throw new UsageException(m.get("checkpoint") + ": '" + m.get("name") + "' " + m.get("why") + " (and " + (mismatches.size() - 1)
                    + " more; rule: SameTensors, --strict)");
        }
        if (pairs.isEmpty()) throw new UsageException(o.reference() + ": no tensor of the reference is in the compared checkpoints (rule: SameTensors)");
        console.printf("[compare] %s against %d checkpoint(s): %d tensor pairs, %d not compared%n", ref.root(), o.checkpoints().size(), pairs.size(), mismatches.size());

        ComparePasses.Rows rows = ComparePasses.compute(job, pairs, new ComparePasses.Settings(o.deltaRank(), o.tolerances(), o.maxExactBytes(),
                o.sliceBytes()), c -> {
            Map<String, Object> head = new LinkedHashMap<>();
            head.put("checkpoint_index", c + 1);
            head.put("checkpoint", o.checkpoints().get(c));
            return head;
        });
        List<Map<String, Object>> tensorRows = rows.tensors(), layers = rows.layers();
        Map<String, Object> runFacts = job.facts();
        runFacts.put("reference", ref.root());
        runFacts.put("checkpoints", o.checkpoints());
        runFacts.put("tensor_pairs", pairs.size());
        runFacts.put("not_compared", mismatches.size());
        runFacts.put("tolerances", o.tolerances());
        runFacts.put("seconds", job.seconds());
        StagedOutput staged = job.output(o.out(), JobRun.Output.REQUIRED, "where the comparison goes", o.overwrite());
        return job.commitAfter("the comparison", () -> {
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("run", runFacts);
            all.put("tensors", tensorRows);
            all.put("layers", layers);
            all.put("not_compared", mismatches);
            try (FSDataOutputStream os = staged.create("compare.json")) {
                Tables.writeJson(os, all);
            }
            try (FSDataOutputStream os = staged.create("compare.csv")) {
                Tables.writeCsv(os, tensorRows);
            }
            try (FSDataOutputStream os = staged.create("layers.csv")) {
                Tables.writeCsv(os, layers);
            }
            try (FSDataOutputStream os = staged.create("report.html")) {
                os.write(CompareReport.render(runFacts, layers, tensorRows, mismatches).getBytes(StandardCharsets.UTF_8));
            }
            console.printf("[compare] %d tensor pairs in %.1f s: %s (compare.json, compare.csv, layers.csv, report.html)%n", pairs.size(),
                    job.seconds(), o.out());
            return all;
        });
    }

    /**
     * A PEFT adapter directory as the compared checkpoint: the reference merged with it (W + s·B·A in float64, what
     * merge_and_unload computes before casting), every tensor of the reference paired, the adapted ones carrying their
     * module (docs/algorithms.md §7.2). The adapter's structure is checked as {@code spectrum ADAPTER --base} does.
     */
    private static void joinAdapter(Configuration conf, Checkpoint ref, String dir, int c, Options o, List<ComparePasses.Pair> pairs) {
        Map<String, AdapterSpectrum.ModuleTask> modules = new HashMap<>();
        for (AdapterSpectrum.ModuleTask m : AdapterSpectrum.modules(conf, dir, o.reference())) modules.put(m.target(), m);
        for (TensorInfo a : ref.tensors()) {
            if (ComparePasses.compared(a, o.includeBiases())) pairs.add(new ComparePasses.Pair(c, a, a, ComparePasses.block(a), modules.get(a.name())));
        }
    }
}
