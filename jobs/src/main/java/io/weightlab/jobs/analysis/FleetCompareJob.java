package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;

import io.weightlab.common.compare.DeltaRank;
import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetCheckpoint;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.fleet.FleetLabels;
import io.weightlab.common.fleet.StepNames;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab compare --against first|previous|FILE} over a fleet (docs/fleet.md, Fleet compare): every
 * checkpoint against its reference ({@link FleetComparePlan}), the tensor pairs of all comparisons in the same passes
 * ({@link ComparePasses}, so each row equals a single {@code compare REF C} run's), in waves of bounded bytes. Each
 * checkpoint's tensor and layer rows, with its URI, key, identity and its reference's, go to one Parquet file of a
 * dataset partitioned by model and step, committed by one rename when its wave is done (as {@link FleetStatsJob}).
 * {@code --append} compares again only the checkpoints whose own identity or whose reference (its key and identity)
 * differs from their committed file's, so a new step, a rewritten checkpoint or a new series' first is redone and
 * nothing else. Every refusal (bad input, a missing reference, shapes that differ) comes before anything is written.
 */
public final class FleetCompareJob {
    public record Options(List<String> inputs, String inputsFile, String out, FleetDataset.Mode mode, boolean prune,
                          FleetStatsJob.BadCheckpoints bad, String against, boolean includeBiases,
                          boolean strict, double[] tolerances, boolean deltaRank, long maxExactBytes, long sliceBytes) {}

    /** What came out: per compared checkpoint (its URI), its rows as written; and the run facts (also in {@code _fleet/runs/}). */
    public record Result(Map<String, List<Map<String, Object>>> rowsByUri, Map<String, Object> run) {}

    /** The key under which ComparePasses' rows carry their comparison until they are grouped (never written). */
    private static final String COMPARISON = "\u0000comparison";

    private FleetCompareJob() {}

    public static Result run(SparkContext sc, Options o, PrintStream console) {
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "the fleet comparison's Parquet dataset");
        FleetComparePlan.Against against = FleetComparePlan.Against.parse(o.against());
        try (JobRun run = JobRun.start("compare", sc, console)) {
            return run(run, o, against);
        }
    }

    private static Result run(JobRun run, Options o, FleetComparePlan.Against against) {
        PrintStream console = run.console();
        Configuration hconf = run.hadoop();
        FleetRun.Opened fixed = against.kind() == FleetComparePlan.Kind.FILE ? openReference(hconf, against.uri()) : null;
        List<FleetCheckpoint> specs = FleetLabels.assign(FleetInputs.resolve(hconf, o.inputs(), o.inputsFile()));
        List<FleetRun.Opened> unique = new ArrayList<>();
        List<Map<String, Object>> duplicates = new ArrayList<>(), bad = new ArrayList<>();
        Map<String, FleetRun.Opened> byKey = new HashMap<>();
        for (FleetRun.Opened x : FleetRun.open(run, specs)) {
            if (x.error() != null) {
                // skipped, a checkpoint is as if absent: its successor is compared with the one before it
                if (o.bad() == FleetStatsJob.BadCheckpoints.FAIL) throw x.error();
                bad.add(Map.of("uri", x.spec().uri(), "error", String.valueOf(x.error().getMessage()), "type", x.error().getClass().getSimpleName()));
                console.println("[compare] bad checkpoint skipped: " + x.error().getMessage());
                continue;
            }
            if (AdapterSpectrum.adapterDir(hconf, x.spec().uri()) != null) {
                throw new UsageException(x.spec().uri() + ": a PEFT adapter directory; a fleet comparison takes full checkpoints "
                        + "(compare REF ADAPTER compares one adapter merged with its base)");
            }
            FleetRun.Opened first = byKey.putIfAbsent(x.id().key(), x);
            if (first == null) unique.add(x);
            else duplicates.add(Map.of("uri", x.spec().uri(), "same_files_as", first.spec().uri()));
        }
        List<FleetComparePlan.Comparison> plan = FleetComparePlan.plan(unique, against, fixed);

        // every comparison's pairs from the headers, so a mismatch refuses the run before the dataset exists
        Map<Integer, List<ComparePasses.Pair>> pairsOf = new HashMap<>();
        List<Map<String, Object>> notCompared = new ArrayList<>();
        for (FleetComparePlan.Comparison c : plan) {
            List<ComparePasses.Pair> pairs = new ArrayList<>();
            List<Map<String, Object>> mismatches = new ArrayList<>();
            ComparePasses.join(c.reference().ckpt(), c.checkpoint().ckpt(), c.index(), c.checkpoint().spec().uri(), o.includeBiases(), pairs, mismatches);
            for (Map<String, Object> m : mismatches) {
                // another shape is never a fleet's series (a grown or different model): refused with or without --strict
                boolean shape = m.get("why").toString().startsWith("has shape");
                if (shape || o.strict()) {
                    throw new UsageException(m.get("checkpoint") + ": '" + m.get("name") + "' " + m.get("why") + " " + c.reference().spec().uri()
                            + " (and " + (mismatches.size() - 1) + " more; rule: SameTensors" + (shape ? ")" : ", --strict)"));
                }
                Map<String, Object> n = new LinkedHashMap<>(m);
                n.put("against", c.reference().spec().uri());
                notCompared.add(n);
            }
            if (pairs.isEmpty()) {
                throw new UsageException(c.checkpoint().spec().uri() + ": no tensor of its reference " + c.reference().spec().uri() + " is in it (rule: SameTensors)");
            }
            pairsOf.put(c.index(), pairs);
        }
        Path out = new Path(o.out());
        try {
            if (o.mode() == FleetDataset.Mode.CREATE && out.getFileSystem(hconf).exists(new Path(out, "_fleet"))) {
                throw new UsageException(o.out() + ": already holds a fleet dataset; pass --append to compare what is new or changed, "
                        + "--overwrite to compare again (or choose a new --out)");
            }
        } catch (IOException e) {
            throw new UsageException(o.out() + ": cannot look at the output: " + e.getMessage());
        }

        String runId = FleetRun.newRunId();
        FleetDataset dataset = FleetDataset.begin(hconf, o.out(), o.mode(), runId, run.job());
        try {
            List<FleetComparePlan.Comparison> todo = new ArrayList<>();
            int unchanged = 0;
            for (FleetComparePlan.Comparison c : plan) {
                if (o.mode() == FleetDataset.Mode.APPEND && sameReference(hconf, dataset, c) && dataset.isCurrent(c.checkpoint().id())) unchanged++;
                else todo.add(c);
            }
            int tensorPairs = todo.stream().mapToInt(c -> pairsOf.get(c.index()).size()).sum();
            console.printf("[compare] fleet: %d checkpoint(s) named, %d comparison(s) against %s, %d unchanged, %d tensor pairs to compare, %d not compared, "
                    + "%d duplicate(s), %d bad%n", specs.size(), todo.size(), against.label(), unchanged, tensorPairs, notCompared.size(), duplicates.size(), bad.size());
            Map<String, List<Map<String, Object>>> rowsByUri = new LinkedHashMap<>();
            List<Map<String, Object>> compared = new ArrayList<>();
            Map<String, Object> nullTypes = nullTypes(o);
            long totalBytes = 0;
            ComparePasses.Settings settings = new ComparePasses.Settings(o.deltaRank(), o.tolerances(), o.maxExactBytes(), o.sliceBytes());
            for (List<FleetComparePlan.Comparison> wave : FleetRun.waves(todo, FleetCompareJob::bytes, c -> pairsOf.get(c.index()).size(),
                    hconf.getLong(FleetStatsJob.WAVE_BYTES, 8L << 30), hconf.getInt(FleetStatsJob.WAVE_TENSORS, 1024))) {
                List<ComparePasses.Pair> pairs = new ArrayList<>();
                for (FleetComparePlan.Comparison c : wave) pairs.addAll(pairsOf.get(c.index()));
                long bytes = wave.stream().mapToLong(FleetCompareJob::bytes).sum();
                totalBytes += bytes;
                console.printf("[compare] wave of %d comparison(s): %d tensor pairs, %s of tensor data%n", wave.size(), pairs.size(), Format.bytes(bytes));
                ComparePasses.Rows rows = ComparePasses.compute(run, pairs, settings, c -> {
                    Map<String, Object> head = new LinkedHashMap<>();
                    head.put(COMPARISON, c);
                    return head;
                });
                Map<Integer, List<Map<String, Object>>> byComparison = byComparison(rows);
                for (FleetComparePlan.Comparison c : wave) {
                    List<Map<String, Object>> mine = withFleetColumns(byComparison.get(c.index()), c, nullTypes.keySet(), runId);
                    Map<String, Object> a = FleetRun.writeAndCommit(hconf, dataset, runId, c.checkpoint(), mine, nullTypes);
                    a.put("against_uri", c.reference().ckpt().root());
                    compared.add(a);
                    rowsByUri.put(c.checkpoint().ckpt().root(), mine);
                }
                console.printf("[compare] committed %d checkpoint(s)%n", wave.size());
            }
            // rows of checkpoints this run does not compare (no longer among the inputs, or now a series' first and only
            // a reference): dropped by --overwrite and --prune, else kept and listed
            java.util.Set<String> comparedKeys = new java.util.HashSet<>();
            for (FleetComparePlan.Comparison c : plan) comparedKeys.add(c.checkpoint().id().key());
            List<FleetDataset.Committed> gone = dataset.notIn(comparedKeys);
            List<Map<String, Object>> goneRows = new ArrayList<>();
            for (FleetDataset.Committed c : gone) goneRows.add(Map.of("key", c.id().key(), "file", dataset.relative(c.file())));
            boolean drop = o.mode() == FleetDataset.Mode.OVERWRITE || o.prune();
            if (drop) dataset.remove(gone);

            Map<String, Object> facts = run.facts();
            facts.put("run_id", runId);
            facts.put("output", o.out());
            facts.put("mode", o.mode().name().toLowerCase(java.util.Locale.ROOT));
            facts.put("against", against.label());
            facts.put("checkpoints_named", specs.size());
            facts.put("compared", compared);
            facts.put("unchanged", unchanged);
            facts.put("duplicates", duplicates);
            facts.put("bad_checkpoints", bad);
            facts.put("not_compared", notCompared);
            facts.put(drop ? "pruned" : "not_compared_now", goneRows);
            facts.put("tensor_pairs", tensorPairs);
            facts.put("tolerances", o.tolerances());
            facts.put("tensor_bytes", totalBytes);
            facts.put("slice_bytes", o.sliceBytes());
            facts.put("seconds", run.seconds());
            facts.put("spark_master", run.sparkMaster());
            facts.put("finished", Instant.now().toString());
            dataset.finish(runId, facts);
            return new Result(rowsByUri, facts);
        } catch (RuntimeException e) {
            dataset.abort(); // checkpoints committed so far stay: each is complete
            throw e;
        }
    }

    /**
     * Whether the checkpoint's committed file, of its present identity, was compared against this run's reference
     * (the same key and identity, read from the file's first row): then its rows stand.
     */
    private static boolean sameReference(Configuration conf, FleetDataset dataset, FleetComparePlan.Comparison c) {
        for (FleetDataset.Committed f : dataset.committed().getOrDefault(c.checkpoint().id().key(), List.of())) {
            if (!f.id().equals(c.checkpoint().id())) continue;
            try (org.apache.parquet.hadoop.ParquetReader<org.apache.parquet.example.data.Group> reader = org.apache.parquet.hadoop.ParquetReader
                    .builder(new org.apache.parquet.hadoop.example.GroupReadSupport(), f.file()).withConf(conf).build()) {
                org.apache.parquet.example.data.Group g = reader.read();
                if (g == null) return false;
                return c.reference().id().key().equals(g.getString("against_key", 0))
                        && c.reference().id().identity().equals(g.getString("against_identity", 0));
            } catch (IOException | RuntimeException e) {
                return false; // an unreadable file is compared again and replaced
            }
        }
        return false;
    }

    /** The fixed reference of {@code --against FILE}: it must exist (a misspelled keyword is named) and be a full checkpoint. */
    private static FleetRun.Opened openReference(Configuration conf, String uri) {
        Path p = new Path(uri);
        boolean exists;
        try {
            exists = FleetInputs.isGlob(uri) || p.getFileSystem(conf).exists(p);
        } catch (IOException | IllegalArgumentException e) {
            exists = false;
        }
        if (!exists) {
            throw new UsageException("--against " + uri + ": no such checkpoint; the reference is first, previous or a checkpoint URI"
                    + Suggestions.didYouMean(uri, List.of("first", "previous")));
        }
        if (AdapterSpectrum.adapterDir(conf, uri) != null) throw new UsageException("--against " + uri + ": a PEFT adapter directory, not a full checkpoint");
        FleetRun.Opened r = FleetRun.openOne(conf, -1, new FleetCheckpoint(uri, null, StepNames.parse(uri), Map.of()));
        if (r.error() != null) throw r.error();
        return r;
    }

    /** Bytes a comparison reads: both checkpoints' tensors (the reference is read again for each checkpoint it serves). */
    private static long bytes(FleetComparePlan.Comparison c) {
        return c.checkpoint().ckpt().totalBytes() + c.reference().ckpt().totalBytes();
    }

    /** ComparePasses' rows by comparison, each led by its level ({@code tensor}, then {@code layer}). */
    private static Map<Integer, List<Map<String, Object>>> byComparison(ComparePasses.Rows rows) {
        Map<Integer, List<Map<String, Object>>> out = new HashMap<>();
        for (String level : List.of("tensor", "layer")) {
            for (Map<String, Object> r : level.equals("tensor") ? rows.tensors() : rows.layers()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("level", level);
                r.forEach((k, v) -> { if (!k.equals(COMPARISON)) row.put(k, v); });
                out.computeIfAbsent((Integer) r.get(COMPARISON), k -> new ArrayList<>()).add(row);
            }
        }
        return out;
    }

    /** The rows of one checkpoint as written: every column of the run's schema (null where not applicable), then the fleet's. */
    private static List<Map<String, Object>> withFleetColumns(List<Map<String, Object>> rows, FleetComparePlan.Comparison c, java.util.Set<String> columns,
                                                              String runId) {
        FleetRun.Opened x = c.checkpoint(), ref = c.reference();
        String tags = FleetRun.tagsJson(x.spec().tags());
        for (Map<String, Object> m : rows) {
            for (String col : columns) m.putIfAbsent(col, null);
            m.put("checkpoint_uri", x.ckpt().root());
            m.put("checkpoint_key", x.id().key());
            m.put("checkpoint_identity", x.id().identity());
            m.put("against_uri", ref.ckpt().root());
            m.put("against_key", ref.id().key());
            m.put("against_identity", ref.id().identity());
            m.put("against_step", ref.spec().step());
            m.put("tags", tags);
            m.put("run_id", runId);
        }
        return rows;
    }

    /**
     * Columns that may be null in every row of one checkpoint's file, with an example value of their type, so every
     * file of the dataset has one schema: ΔW's rank columns (a checkpoint may have no matrix under the budget), the
     * tensor-only and layer-only columns, the reference's step.
     */
    private static Map<String, Object> nullTypes(Options o) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", "");
        t.put("module_kind", "");
        t.put("shape", List.of(0L));
        t.put("layer_index", 0L);
        t.put("tensors", 0L);
        if (o.deltaRank()) {
            t.putAll(DeltaRank.of(new double[0], 2, 2, o.tolerances(), 1e-7));
            t.put("delta_rank_status", "");
        }
        t.put("against_step", 0L);
        return t;
    }

    /** The console lines after a fleet comparison. */
    public static void printSummary(Result r, String out, PrintStream console) {
        @SuppressWarnings("unchecked") List<Object> compared = (List<Object>) r.run().get("compared");
        console.printf("compare (fleet): %d checkpoint(s) compared against %s, in %.1f s%n", compared.size(), r.run().get("against"),
                (double) r.run().get("seconds"));
        console.println("output: " + out + "  (Parquet dataset partitioned by model and step; run record in _fleet/runs/)");
    }
}
