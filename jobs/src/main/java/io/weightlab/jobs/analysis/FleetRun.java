package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.ParquetTables;
import io.weightlab.jobs.spark.SerializableConfiguration;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.fleet.CheckpointIdentity;
import io.weightlab.common.fleet.FleetCheckpoint;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.fleet.FleetLabels;
import io.weightlab.common.fleet.HivePartitions;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.Dequantization;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.PrintStream;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * One run of a job that analyses a fleet into its Parquet dataset (docs/fleet.md), whatever the job computes
 * (stats, spectrum): the inputs resolved and opened, bad checkpoints failed or skipped, duplicates folded, the
 * quantization pairing checked, the checkpoints whose identity is already in the dataset left out (--append); then
 * each analysed checkpoint's rows, with the fleet columns, committed as one file, and the run record written.
 * Also the pieces fleet compare shares: opening, run ids, waves, tags. A run without an output ({@link #withoutOutput},
 * inspect's console inventory) opens, checks and de-duplicates the same way and writes nothing.
 */
final class FleetRun {
    /** The options every fleet-dataset job takes. */
    record Settings(List<String> inputs, String inputsFile, String out, FleetDataset.Mode mode, boolean prune,
                    FleetStatsJob.BadCheckpoints bad, boolean dequantize, int[] blockSize) implements Serializable {}

    /**
     * One checkpoint after its header was read (on an executor or the driver), or the typed error it failed with; or,
     * with --append, its identity alone when the dataset already holds it ({@code ckpt} null: no header was read).
     */
    record Opened(int index, FleetCheckpoint spec, Checkpoint ckpt, CheckpointIdentity id, RuntimeException error) implements Serializable {
        boolean headerRead() { return ckpt != null; }
    }

    private final JobRun run;
    private final Settings settings;
    private final String runId;
    private final int named;
    private final List<Map<String, Object>> bad;
    private final List<Map<String, Object>> duplicates;
    private final Map<String, Map<String, Dequantization>> dqs;
    private final FleetDataset dataset;
    private final List<Opened> todo;
    private final int unchanged;
    private final List<FleetDataset.Committed> gone;
    private final List<Map<String, Object>> analysed = new ArrayList<>();

    private FleetRun(JobRun run, Settings settings, String runId, int named, List<Map<String, Object>> bad, List<Map<String, Object>> duplicates,
                     Map<String, Map<String, Dequantization>> dqs, FleetDataset dataset, List<Opened> todo, int unchanged,
                     List<FleetDataset.Committed> gone) {
        this.run = run;
        this.settings = settings;
        this.runId = runId;
        this.named = named;
        this.bad = bad;
        this.duplicates = duplicates;
        this.dqs = dqs;
        this.dataset = dataset;
        this.todo = todo;
        this.unchanged = unchanged;
        this.gone = gone;
    }

    /**
     * Opens the fleet and its dataset. {@code refuse} sees every readable, distinct checkpoint before the dataset
     * exists, so a job's own refusals (an adapter directory, a missing --include role) leave nothing written.
     */
    static FleetRun begin(JobRun run, Settings s, Consumer<Opened> refuse) {
        return begin(run, s, resolve(run.hadoop(), s), refuse);
    }

    /** As above, over inputs already {@link #resolve resolved} (a caller that needed their number first). */
    static FleetRun begin(JobRun run, Settings s, List<FleetCheckpoint> specs, Consumer<Opened> refuse) {
        JobRun.checkOut(s.out(), JobRun.Output.REQUIRED, "the fleet's Parquet dataset");
        return plan(run, s, specs, refuse);
    }

    /**
     * The same fleet with nothing written ({@code s.out()} null): every distinct readable checkpoint is to analyse,
     * none unchanged; {@link #commit} is refused and {@link #finish} only returns the facts.
     */
    static FleetRun withoutOutput(JobRun run, Settings s, Consumer<Opened> refuse) {
        return withoutOutput(run, s, resolve(run.hadoop(), s), refuse);
    }

    /** As above, over inputs already {@link #resolve resolved}. */
    static FleetRun withoutOutput(JobRun run, Settings s, List<FleetCheckpoint> specs, Consumer<Opened> refuse) {
        if (s.out() != null || s.mode() != FleetDataset.Mode.CREATE || s.prune()) {
            throw new IllegalArgumentException("a fleet without output takes no --out, --append, --overwrite or --prune");
        }
        return plan(run, s, specs, refuse);
    }

    /** The fleet's checkpoints, labelled: globs and the --inputs file resolved (one listing per glob). */
    static List<FleetCheckpoint> resolve(Configuration conf, Settings s) {
        return FleetLabels.assign(FleetInputs.resolve(conf, s.inputs(), s.inputsFile()));
    }

    private static FleetRun plan(JobRun run, Settings s, List<FleetCheckpoint> specs, Consumer<Opened> refuse) {
        PrintStream console = run.console();
        String job = run.job();
        // --append: a checkpoint whose identity (from listings) the dataset holds is not opened further
        Set<CheckpointIdentity> known = s.out() != null && s.mode() == FleetDataset.Mode.APPEND
                ? FleetDataset.committedIdentities(run.hadoop(), s.out()) : Set.of();
        List<Opened> opened = open(run, specs, known);

        List<Map<String, Object>> bad = new ArrayList<>();
        List<Map<String, Object>> duplicates = new ArrayList<>();
        Map<String, Opened> byKey = new LinkedHashMap<>();
        for (Opened x : opened) {
            if (x.error() != null) {
                if (s.bad() == FleetStatsJob.BadCheckpoints.FAIL) throw x.error();
                bad.add(badEntry(x.spec(), x.error()));
                console.println("[" + job + "] bad checkpoint skipped: " + x.error().getMessage());
                continue;
            }
            Opened first = byKey.putIfAbsent(x.id().key(), x);
            if (first != null) duplicates.add(Map.of("uri", x.spec().uri(), "same_files_as", first.spec().uri()));
        }
        Map<String, Map<String, Dequantization>> dqs = new HashMap<>();
        for (Opened x : new ArrayList<>(byKey.values())) {
            if (x.headerRead() && !pair(s, x, dqs, bad)) byKey.remove(x.id().key());
        }
        byKey.values().stream().filter(Opened::headerRead).forEach(refuse);

        String runId = newRunId();
        if (s.out() == null) {
            console.printf("[%s] fleet: %d checkpoint(s) named, %d to read, %d bad, %d duplicate(s); no --out: nothing is written%n",
                    job, specs.size(), byKey.size(), bad.size(), duplicates.size());
            return new FleetRun(run, s, runId, specs.size(), bad, duplicates, dqs, null, new ArrayList<>(byKey.values()), 0, List.of());
        }
        FleetDataset dataset = FleetDataset.begin(run.hadoop(), s.out(), s.mode(), runId, run.job());
        List<Opened> todo = new ArrayList<>();
        int unchanged = 0;
        for (Opened x : byKey.values()) {
            if (dataset.isCurrent(x.id())) {
                unchanged++;
                continue;
            }
            if (!x.headerRead()) {
                // the dataset changed since it was listed above (another run pruned it): read the header after all
                x = openOne(run.hadoop(), x.index(), x.spec(), Set.of());
                if (x.error() != null) {
                    if (s.bad() == FleetStatsJob.BadCheckpoints.FAIL) throw x.error();
                    bad.add(badEntry(x.spec(), x.error()));
                    continue;
                }
                if (!pair(s, x, dqs, bad)) continue;
                refuse.accept(x);
            }
            todo.add(x);
        }
        List<FleetDataset.Committed> gone = dataset.notIn(byKey.keySet());
        console.printf("[%s] fleet: %d checkpoint(s) named, %d to analyse, %d unchanged, %d bad, %d duplicate(s), %d in the dataset but not among the inputs%n",
                job, specs.size(), todo.size(), unchanged, bad.size(), duplicates.size(), gone.size());
        return new FleetRun(run, s, runId, specs.size(), bad, duplicates, dqs, dataset, todo, unchanged, gone);
    }

    /** Quantization pairing is a header-level check too: a bad pairing is a bad checkpoint (failed, or listed and false). */
    private static boolean pair(Settings s, Opened x, Map<String, Map<String, Dequantization>> dqs, List<Map<String, Object>> bad) {
        try {
            dqs.put(x.id().key(), s.dequantize() ? Dequantization.pair(x.ckpt(), s.blockSize()) : Map.of());
            return true;
        } catch (WeightLabException e) {
            if (s.bad() == FleetStatsJob.BadCheckpoints.FAIL) throw e;
            bad.add(badEntry(x.spec(), e));
            return false;
        }
    }

    private static Map<String, Object> badEntry(FleetCheckpoint spec, RuntimeException e) {
        return Map.of("uri", spec.uri(), "error", String.valueOf(e.getMessage()), "type", e.getClass().getSimpleName());
    }

    /** The checkpoints to analyse (new or changed), in input order. */
    List<Opened> todo() {
        return todo;
    }

    /** A checkpoint's quantization pairing ({@code --dequantize}), empty without. */
    Map<String, Dequantization> dequantization(Opened x) {
        return dqs.get(x.id().key());
    }

    /**
     * Writes one checkpoint's rows with the fleet columns (URI, key, identity, tags, run) as its file and commits it
     * by one rename. {@code nullTypes}: an example value of every column that may be null in all of its rows.
     */
    void commit(Opened x, List<Map<String, Object>> rows, Map<String, Object> nullTypes) {
        if (dataset == null) throw new IllegalStateException(run.job() + ": a fleet run without output commits nothing");
        analysed.add(writeAndCommit(run.hadoop(), dataset, runId, x, rows, nullTypes));
    }

    /** The first half of {@link #commit}: the checkpoint's file written to staging. Any thread: each checkpoint has its own file. */
    void stage(Opened x, List<Map<String, Object>> rows, Map<String, Object> nullTypes) {
        if (dataset == null) throw new IllegalStateException(run.job() + ": a fleet run without output writes nothing");
        stage(run.hadoop(), dataset, runId, x, rows, nullTypes);
    }

    /** The second half of {@link #commit}: the staged file renamed into its partition. One thread, in the order wanted. */
    void commitStaged(Opened x) {
        analysed.add(commitStaged(dataset, x));
    }

    /**
     * The one commit of a checkpoint's rows into a fleet dataset, for every fleet job: the fleet columns added to each
     * row, the file written to staging, renamed into its model/step partition; returns the run record's entry for it.
     */
    static Map<String, Object> writeAndCommit(Configuration conf, FleetDataset dataset, String runId, Opened x,
                                              List<Map<String, Object>> rows, Map<String, Object> nullTypes) {
        stage(conf, dataset, runId, x, rows, nullTypes);
        return commitStaged(dataset, x);
    }

    private static void stage(Configuration conf, FleetDataset dataset, String runId, Opened x,
                              List<Map<String, Object>> rows, Map<String, Object> nullTypes) {
        String tags = tagsJson(x.spec().tags());
        for (Map<String, Object> m : rows) {
            m.put("checkpoint_uri", x.ckpt().root());
            m.put("checkpoint_key", x.id().key());
            m.put("checkpoint_identity", x.id().identity());
            m.put("tags", tags);
            m.put("run_id", runId);
        }
        ParquetTables.writeFile(conf, rows, dataset.stagingFile(x.id()).toString(), nullTypes);
    }

    private static Map<String, Object> commitStaged(FleetDataset dataset, Opened x) {
        String partition = HivePartitions.dir(x.spec().model(), x.spec().step());
        dataset.commit(x.id(), partition);
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("uri", x.ckpt().root());
        a.put("model", x.spec().model());
        a.put("step", x.spec().step());
        a.put("key", x.id().key());
        a.put("identity", x.id().identity());
        a.put("file", partition + "/" + x.id().fileName());
        return a;
    }

    /** Whether this run writes a dataset (it was given an output). */
    boolean writes() {
        return dataset != null;
    }

    /** Prunes (--prune, --overwrite), writes the run record with the job's own {@code facts}, and returns it (without an output: only returns it). */
    Map<String, Object> finish(Map<String, Object> jobFacts) {
        List<Map<String, Object>> goneFacts = new ArrayList<>();
        for (FleetDataset.Committed c : gone) goneFacts.add(Map.of("key", c.id().key(), "file", dataset.relative(c.file())));
        boolean prune = settings.prune() || settings.mode() == FleetDataset.Mode.OVERWRITE;
        if (prune && dataset != null) dataset.remove(gone);
        Map<String, Object> facts = run.facts();
        facts.put("run_id", runId);
        facts.put("output", settings.out());
        facts.put("mode", settings.mode().name().toLowerCase());
        facts.put("checkpoints_named", named);
        facts.put("analysed", analysed);
        facts.put("unchanged", unchanged);
        facts.put("bad_checkpoints", bad);
        facts.put("duplicates", duplicates);
        facts.put(prune ? "pruned" : "not_in_inputs", goneFacts);
        facts.putAll(jobFacts);
        facts.put("spark_master", run.sparkMaster());
        facts.put("finished", Instant.now().toString());
        if (dataset != null) dataset.finish(runId, facts);
        return facts;
    }

    /** After a failure: checkpoints committed so far stay (each is complete), the staging goes. */
    void abort() {
        if (dataset != null) dataset.abort();
    }

    /** Headers and identities: on the driver for a few checkpoints, on executors for many. */
    static List<Opened> open(JobRun run, List<FleetCheckpoint> specs) {
        return open(run, specs, Set.of());
    }

    /** As above; a checkpoint whose identity is {@code known} is only located (listed), its header not read. */
    static List<Opened> open(JobRun run, List<FleetCheckpoint> specs, Set<CheckpointIdentity> known) {
        int max = run.hadoop().getInt(FleetStatsJob.DRIVER_HEADERS_MAX, 16);
        if (specs.size() <= max) {
            List<Opened> out = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) out.add(openOne(run.hadoop(), i, specs.get(i), known));
            return out;
        }
        Broadcast<SerializableConfiguration> conf = run.conf();
        JavaSparkContext jsc = run.jsc();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) idx.add(i);
        List<FleetCheckpoint> all = List.copyOf(specs);
        Set<CheckpointIdentity> skip = Set.copyOf(known);
        int parts = Math.max(1, Math.min(specs.size(), jsc.defaultParallelism() * 4));
        run.console().printf("[%s] reading %d checkpoint headers on the executors (%d tasks)%s%n", run.job(), specs.size(), parts,
                skip.isEmpty() ? "" : ", listings only for the " + skip.size() + " the dataset holds");
        List<Opened> out = new ArrayList<>(jsc.parallelize(idx, parts).map(i -> openOne(conf.value().get(), i, all.get(i), skip)).collect());
        out.sort(java.util.Comparator.comparingInt(Opened::index));
        return out;
    }

    static Opened openOne(Configuration conf, int index, FleetCheckpoint spec) {
        return openOne(conf, index, spec, Set.of());
    }

    /** Locates the checkpoint (listings) for its identity; reads its headers unless that identity is {@code known}. */
    static Opened openOne(Configuration conf, int index, FleetCheckpoint spec, Set<CheckpointIdentity> known) {
        try {
            CheckpointCatalog.Located l = CheckpointCatalog.locate(conf, spec.uri());
            CheckpointIdentity id = CheckpointIdentity.of(l.files());
            return new Opened(index, spec, known.contains(id) ? null : CheckpointCatalog.read(l), id, null);
        } catch (WeightLabException e) {
            return new Opened(index, spec, null, null, e);
        }
    }

    /** A fleet run's id: its start time and a random suffix (names its record in {@code _fleet/runs/}). */
    static String newRunId() {
        return Instant.now().toString().replace(":", "").replace(".", "") + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Consecutive groups of at most {@code maxBytes} of tensor data and {@code maxTensors} tensors (a larger checkpoint alone). */
    static List<List<Opened>> waves(List<Opened> todo, long maxBytes, int maxTensors) {
        return waves(todo, x -> x.ckpt().totalBytes(), x -> x.ckpt().tensors().size(), maxBytes, maxTensors);
    }

    /** The waves of this run, sized by the Hadoop conf keys {@link FleetStatsJob#WAVE_BYTES} and {@link FleetStatsJob#WAVE_TENSORS}. */
    List<List<Opened>> waves() {
        return waves(todo, run.hadoop().getLong(FleetStatsJob.WAVE_BYTES, 8L << 30), run.hadoop().getInt(FleetStatsJob.WAVE_TENSORS, 1024));
    }

    /** The same for any work item (fleet compare's comparisons): its bytes and tensors. */
    static <T> List<List<T>> waves(List<T> todo, java.util.function.ToLongFunction<T> byteCount, java.util.function.ToLongFunction<T> tensorCount,
                                   long maxBytes, int maxTensors) {
        List<List<T>> waves = new ArrayList<>();
        List<T> cur = new ArrayList<>();
        long bytes = 0, tensors = 0;
        for (T x : todo) {
            long b = byteCount.applyAsLong(x), n = tensorCount.applyAsLong(x);
            if (!cur.isEmpty() && (bytes + b > maxBytes || tensors + n > maxTensors)) {
                waves.add(cur);
                cur = new ArrayList<>();
                bytes = 0;
                tensors = 0;
            }
            cur.add(x);
            bytes += b;
            tensors += n;
        }
        if (!cur.isEmpty()) waves.add(cur);
        return waves;
    }

    static String tagsJson(Map<String, String> tags) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(new java.util.TreeMap<>(tags));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
