package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.MomentPass;
import io.weightlab.jobs.spark.ParquetTables;
import io.weightlab.jobs.spark.ProgressReporter;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WorkPacker;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.fleet.CheckpointIdentity;
import io.weightlab.common.fleet.FleetCheckpoint;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.fleet.FleetLabels;
import io.weightlab.common.fleet.HivePartitions;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code weightlab stats} over a fleet (docs/fleet.md): many checkpoints in one Spark application. The tensors of
 * all checkpoints to analyse are sliced and packed together (largest first) into one pass per wave, so small models
 * keep every core busy and start-up is paid once; each checkpoint's rows (StatsJob's, plus its URI, key, identity,
 * tags and run) go to one Parquet file of a dataset partitioned by model and step, committed by one rename as soon
 * as its wave is done. Headers are read on executors when there are many checkpoints. Per checkpoint the numbers
 * are those of a single-checkpoint {@code stats} run: same slicing, same merge order, same fits.
 */
public final class FleetStatsJob {
    /** What to do with a checkpoint whose header cannot be read or is invalid. */
    public enum BadCheckpoints { FAIL, SKIP }

    public record Options(List<String> inputs, String inputsFile, String out, FleetDataset.Mode mode, boolean prune,
                          BadCheckpoints bad, long sliceBytes, boolean dequantize, int[] blockSize,
                          StatsJob.GgMode gg) implements Serializable {}

    /** What came out: per checkpoint analysed, its label and rows; and the run facts (also in {@code _fleet/runs/}). */
    public record Result(Map<String, List<StatsRow>> rowsByUri, Map<String, Object> run) {}

    /** Hadoop conf key: tensor bytes per wave; a wave's checkpoints are committed when it ends. */
    public static final String WAVE_BYTES = "weightlab.fleet.wave-bytes";
    /**
     * Hadoop conf key: tensors per wave. The driver collects one summary per tensor of the wave, each with a 0.5 MB
     * count table once deserialized, so this bounds the driver's memory (1024: about 0.5 GB) where bytes do not:
     * 50 MiniLM-sized checkpoints are 4.2 GB but 5,100 tensors (2.6 GB of tables; a 2 GB driver ran out of heap).
     */
    public static final String WAVE_TENSORS = "weightlab.fleet.wave-tensors";
    /** Hadoop conf key: with more checkpoints than this, headers are read on executors. */
    public static final String DRIVER_HEADERS_MAX = "weightlab.fleet.driver-headers-max";

    /** Columns that may be null in every row of one checkpoint, with an example value of their type. */
    static final Map<String, Object> NULL_TYPES = Map.of("layer", 0L, "shape", List.of(0L), "stack", "", "dtype", "",
            "module_kind", "", "role", "");

    /** One checkpoint after its header was read (on an executor or the driver): or the typed error it failed with. */
    record Opened(int index, FleetCheckpoint spec, Checkpoint ckpt, CheckpointIdentity id, RuntimeException error) implements Serializable {}

    private FleetStatsJob() {}

    public static Result run(SparkSession spark, Options o, PrintStream console) {
        try (JobRun run = JobRun.start("stats", spark, console)) {
            return run(run, o);
        }
    }

    private static Result run(JobRun run, Options o) {
        PrintStream console = run.console();
        JobRun.checkOut(o.out(), JobRun.Output.REQUIRED, "the fleet's Parquet dataset");
        List<FleetCheckpoint> specs = FleetLabels.assign(FleetInputs.resolve(run.hadoop(), o.inputs(), o.inputsFile()));
        List<Opened> opened = open(run, specs);

        Map<String, Object> facts = run.facts();
        String runId = newRunId();
        List<Map<String, Object>> bad = new ArrayList<>();
        List<Map<String, Object>> duplicates = new ArrayList<>();
        Map<String, Opened> byKey = new LinkedHashMap<>();
        for (Opened x : opened) {
            if (x.error() != null) {
                if (o.bad() == BadCheckpoints.FAIL) throw x.error();
                bad.add(Map.of("uri", x.spec().uri(), "error", String.valueOf(x.error().getMessage()), "type", x.error().getClass().getSimpleName()));
                console.println("[stats] bad checkpoint skipped: " + x.error().getMessage());
                continue;
            }
            Opened first = byKey.putIfAbsent(x.id().key(), x);
            if (first != null) duplicates.add(Map.of("uri", x.spec().uri(), "same_files_as", first.spec().uri()));
        }
        // quantization pairing is a header-level check too: a bad pairing is a bad checkpoint
        Map<String, Map<String, Dequantization>> dqs = new HashMap<>();
        for (Opened x : new ArrayList<>(byKey.values())) {
            try {
                dqs.put(x.id().key(), o.dequantize() ? Dequantization.pair(x.ckpt(), o.blockSize()) : Map.of());
            } catch (WeightLabException e) {
                if (o.bad() == BadCheckpoints.FAIL) throw e;
                bad.add(Map.of("uri", x.spec().uri(), "error", String.valueOf(e.getMessage()), "type", e.getClass().getSimpleName()));
                byKey.remove(x.id().key());
            }
        }

        FleetDataset dataset = FleetDataset.begin(run.hadoop(), o.out(), o.mode(), runId);
        try {
            List<Opened> todo = new ArrayList<>();
            int unchanged = 0;
            for (Opened x : byKey.values()) {
                if (dataset.isCurrent(x.id())) unchanged++;
                else todo.add(x);
            }
            List<FleetDataset.Committed> gone = dataset.notIn(byKey.keySet());
            console.printf("[stats] fleet: %d checkpoint(s) named, %d to analyse, %d unchanged, %d bad, %d duplicate(s), %d in the dataset but not among the inputs%n",
                    specs.size(), todo.size(), unchanged, bad.size(), duplicates.size(), gone.size());

            Map<String, List<StatsRow>> rowsByUri = new LinkedHashMap<>();
            List<Map<String, Object>> analysed = new ArrayList<>();
            long totalBytes = 0;
            long waveBytes = run.hadoop().getLong(WAVE_BYTES, 8L << 30);
            for (List<Opened> wave : waves(todo, waveBytes, run.hadoop().getInt(WAVE_TENSORS, 1024))) {
                totalBytes += analyseWave(run, o, wave, dqs, dataset, runId, rowsByUri, analysed);
            }
            List<Map<String, Object>> goneFacts = new ArrayList<>();
            for (FleetDataset.Committed c : gone) goneFacts.add(Map.of("key", c.id().key(), "file", dataset.relative(c.file())));
            if (o.prune() || o.mode() == FleetDataset.Mode.OVERWRITE) dataset.remove(gone);

            double secs = run.seconds();
            facts.put("run_id", runId);
            facts.put("output", o.out());
            facts.put("mode", o.mode().name().toLowerCase());
            facts.put("checkpoints_named", specs.size());
            facts.put("analysed", analysed);
            facts.put("unchanged", unchanged);
            facts.put("bad_checkpoints", bad);
            facts.put("duplicates", duplicates);
            facts.put(o.prune() || o.mode() == FleetDataset.Mode.OVERWRITE ? "pruned" : "not_in_inputs", goneFacts);
            facts.put("tensor_bytes", totalBytes);
            facts.put("slice_bytes", o.sliceBytes());
            facts.put("seconds", secs);
            facts.put("read_gb_per_s", totalBytes / secs / 1e9);
            facts.put("spark_master", run.sparkMaster());
            facts.put("finished", Instant.now().toString());
            dataset.finish(runId, facts);
            return new Result(rowsByUri, facts);
        } catch (RuntimeException e) {
            dataset.abort(); // checkpoints committed so far stay: each is complete
            throw e;
        }
    }

    /** Headers and identities: on the driver for a few checkpoints, on executors for many. */
    static List<Opened> open(JobRun run, List<FleetCheckpoint> specs) {
        List<Object[]> indexed = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) indexed.add(new Object[] {i, specs.get(i)});
        int max = run.hadoop().getInt(DRIVER_HEADERS_MAX, 16);
        if (specs.size() <= max) {
            List<Opened> out = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) out.add(openOne(run.hadoop(), i, specs.get(i)));
            return out;
        }
        Broadcast<SerializableConfiguration> conf = run.conf();
        JavaSparkContext jsc = run.jsc();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) idx.add(i);
        List<FleetCheckpoint> all = List.copyOf(specs);
        int parts = Math.max(1, Math.min(specs.size(), jsc.defaultParallelism() * 4));
        run.console().printf("[stats] reading %d checkpoint headers on the executors (%d tasks)%n", specs.size(), parts);
        List<Opened> out = new ArrayList<>(jsc.parallelize(idx, parts).map(i -> openOne(conf.value().get(), i, all.get(i))).collect());
        out.sort(java.util.Comparator.comparingInt(Opened::index));
        return out;
    }

    static Opened openOne(Configuration conf, int index, FleetCheckpoint spec) {
        try {
            Checkpoint c = CheckpointCatalog.open(conf, spec.uri());
            return new Opened(index, spec, c, CheckpointIdentity.of(conf, c), null);
        } catch (WeightLabException e) {
            return new Opened(index, spec, null, null, e);
        } catch (java.io.IOException e) {
            return new Opened(index, spec, null, null, new WeightLabException(spec.uri() + ": cannot read: " + e.getMessage(), e));
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

    /** The prefix that keeps tensors of different checkpoints apart in one pass (tensor names repeat across a fleet). */
    private static String prefix(int i) {
        return i + "\u0000";
    }

    private static long analyseWave(JobRun run, Options o, List<Opened> wave, Map<String, Map<String, Dequantization>> dqs,
                                    FleetDataset dataset, String runId, Map<String, List<StatsRow>> rowsByUri,
                                    List<Map<String, Object>> analysed) {
        JavaSparkContext jsc = run.jsc();
        List<StatsUnit> units = new ArrayList<>();
        for (int w = 0; w < wave.size(); w++) {
            Opened x = wave.get(w);
            Map<String, Dequantization> dq = dqs.get(x.id().key());
            for (TensorInfo t : x.ckpt().tensors()) {
                if (!t.dtype().isDecodable()) continue;
                TensorInfo keyed = new TensorInfo(prefix(w) + t.name(), t.dtype(), t.shape(), t.file(), t.dataBegin(), t.dataEnd());
                units.addAll(StatsUnit.slice(keyed, o.sliceBytes(), dq.get(t.name())));
            }
        }
        long bytes = units.stream().mapToLong(StatsUnit::byteLength).sum();
        run.console().printf("[stats] wave of %d checkpoint(s): %d slices, %s of tensor data%n", wave.size(), units.size(), Format.bytes(bytes));
        List<List<StatsUnit>> tasks = WorkPacker.pack(units, StatsUnit::byteLength, jsc.defaultParallelism(), MomentPass.TASK_BYTES);
        ProgressReporter progress = run.progress(tasks.stream().mapToLong(l -> l.stream().mapToLong(StatsUnit::byteLength).sum()).toArray());
        Broadcast<SerializableConfiguration> conf = run.conf();
        org.apache.spark.util.LongAccumulator nanos = jsc.sc().longAccumulator("weightlab.compute.nanos");
        Map<String, TensorPartial> collected = units.isEmpty() ? Map.of()
                : new HashMap<>(MomentPass.tensorPartials(jsc, conf, tasks, units.size(), nanos).collectAsMap());
        run.endProgress(progress);

        // the analysable tensors of every checkpoint of the wave, fitted together in at most one more pass
        Map<String, TensorPartial> toFit = new HashMap<>();
        collected.forEach((k, p) -> {
            if (io.weightlab.common.model.TensorName.parse(k.substring(k.indexOf('\u0000') + 1)).isAnalysable()) toFit.put(k, p);
        });
        Map<String, GgFit> fits = o.gg() == StatsJob.GgMode.NONE || toFit.isEmpty() ? Map.of()
                : GgFitStage.fit(jsc, conf, units, toFit, o.gg() == StatsJob.GgMode.MLE, run.console());

        for (int w = 0; w < wave.size(); w++) {
            Opened x = wave.get(w);
            String p = prefix(w);
            Map<String, TensorPartial> mine = new HashMap<>();
            Map<String, GgFit> myFits = new HashMap<>();
            collected.forEach((k, v) -> { if (k.startsWith(p)) mine.put(k.substring(p.length()), v); });
            fits.forEach((k, v) -> { if (k.startsWith(p)) myFits.put(k.substring(p.length()), v); });
            List<StatsRow> rows = new ArrayList<>(StatsJob.tensorRows(x.ckpt(), mine, dqs.get(x.id().key()), myFits, o.gg()));
            rows.addAll(StatsJob.rollups(x.ckpt(), mine, o.gg()));
            String tags = tagsJson(x.spec().tags());
            List<Map<String, Object>> maps = new ArrayList<>();
            for (StatsRow r : rows) {
                Map<String, Object> m = r.toMap();
                m.put("checkpoint_uri", x.ckpt().root());
                m.put("checkpoint_key", x.id().key());
                m.put("checkpoint_identity", x.id().identity());
                m.put("tags", tags);
                m.put("run_id", runId);
                maps.add(m);
            }
            ParquetTables.writeFile(run.hadoop(), maps, dataset.stagingFile(x.id()).toString(), NULL_TYPES);
            String partition = HivePartitions.dir(x.spec().model(), x.spec().step());
            dataset.commit(x.id(), partition);
            rowsByUri.put(x.ckpt().root(), rows);
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("uri", x.ckpt().root());
            a.put("model", x.spec().model());
            a.put("step", x.spec().step());
            a.put("key", x.id().key());
            a.put("identity", x.id().identity());
            a.put("file", partition + "/" + x.id().fileName());
            analysed.add(a);
        }
        run.console().printf("[stats] committed %d checkpoint(s)%n", wave.size());
        return bytes;
    }

    static String tagsJson(Map<String, String> tags) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(new java.util.TreeMap<>(tags));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The console lines after a fleet run. */
    public static void printSummary(Result r, String out, PrintStream console) {
        @SuppressWarnings("unchecked") List<Object> analysed = (List<Object>) r.run().get("analysed");
        @SuppressWarnings("unchecked") List<Object> bad = (List<Object>) r.run().get("bad_checkpoints");
        console.printf("stats (fleet): %d checkpoint(s) analysed, %s unchanged, %d bad, in %.1f s%n", analysed.size(),
                r.run().get("unchanged"), bad.size(), (double) r.run().get("seconds"));
        console.println("output: " + out + "  (Parquet dataset partitioned by model and step; run record in _fleet/runs/)");
    }

    static void requireNoHistogram(String histogramTensor) {
        if (histogramTensor != null) throw new UsageException("--histogram-tensor applies to one checkpoint, not to a fleet");
    }
}
