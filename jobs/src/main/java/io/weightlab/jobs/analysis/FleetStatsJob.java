package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.DriverThreads;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.MomentPass;
import io.weightlab.jobs.spark.ProgressReporter;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WorkPacker;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    private FleetStatsJob() {}

    public static Result run(SparkSession spark, Options o, PrintStream console) {
        return run(spark.sparkContext(), o, console);
    }

    /** On a bare context: the job runs no SQL, and building a session costs about 0.5 s of start-up. */
    public static Result run(org.apache.spark.SparkContext sc, Options o, PrintStream console) {
        try (JobRun run = JobRun.start("stats", sc, console)) {
            return run(run, o);
        }
    }

    private static Result run(JobRun run, Options o) {
        FleetRun fleet = FleetRun.begin(run, new FleetRun.Settings(o.inputs(), o.inputsFile(), o.out(), o.mode(), o.prune(), o.bad(),
                o.dequantize(), o.blockSize()), x -> {});
        try {
            Map<String, List<StatsRow>> rowsByUri = new LinkedHashMap<>();
            long totalBytes = 0;
            for (List<FleetRun.Opened> wave : fleet.waves()) totalBytes += analyseWave(run, o, wave, fleet, rowsByUri);
            double secs = run.seconds();
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("tensor_bytes", totalBytes);
            facts.put("slice_bytes", o.sliceBytes());
            facts.put("seconds", secs);
            facts.put("read_gb_per_s", totalBytes / secs / 1e9);
            return new Result(rowsByUri, fleet.finish(facts));
        } catch (RuntimeException e) {
            fleet.abort(); // checkpoints committed so far stay: each is complete
            throw e;
        }
    }

    /** The prefix that keeps tensors of different checkpoints apart in one pass (tensor names repeat across a fleet). */
    private static String prefix(int i) {
        return i + "\u0000";
    }

    private static long analyseWave(JobRun run, Options o, List<FleetRun.Opened> wave, FleetRun fleet, Map<String, List<StatsRow>> rowsByUri) {
        JavaSparkContext jsc = run.jsc();
        List<StatsUnit> units = new ArrayList<>();
        for (int w = 0; w < wave.size(); w++) {
            FleetRun.Opened x = wave.get(w);
            Map<String, Dequantization> dq = fleet.dequantization(x);
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
                : MomentPass.collectPartials(jsc, conf, tasks, nanos);
        run.endProgress(progress);

        // the analysable tensors of every checkpoint of the wave, fitted together in at most one more pass
        Map<String, TensorPartial> toFit = new HashMap<>();
        collected.forEach((k, p) -> {
            if (io.weightlab.common.model.TensorName.parse(k.substring(k.indexOf('\u0000') + 1)).isAnalysable()) toFit.put(k, p);
        });
        Map<String, GgFit> fits = o.gg() == StatsJob.GgMode.NONE || toFit.isEmpty() ? Map.of()
                : GgFitStage.fit(jsc, conf, units, toFit, o.gg() == StatsJob.GgMode.MLE, run.console());

        // each checkpoint's rows, roll-ups and staged file on every core (the executors are idle now), then the
        // commits one by one in wave order
        List<List<StatsRow>> rowsOf = DriverThreads.map(java.util.stream.IntStream.range(0, wave.size()).boxed().toList(), w -> {
            FleetRun.Opened x = wave.get(w);
            String p = prefix(w);
            Map<String, TensorPartial> mine = new HashMap<>();
            Map<String, GgFit> myFits = new HashMap<>();
            collected.forEach((k, v) -> { if (k.startsWith(p)) mine.put(k.substring(p.length()), v); });
            fits.forEach((k, v) -> { if (k.startsWith(p)) myFits.put(k.substring(p.length()), v); });
            List<StatsRow> rows = new ArrayList<>(StatsJob.tensorRows(x.ckpt(), mine, fleet.dequantization(x), myFits, o.gg()));
            rows.addAll(StatsJob.rollups(x.ckpt(), mine, o.gg()));
            List<Map<String, Object>> maps = new ArrayList<>();
            for (StatsRow r : rows) maps.add(r.toMap());
            fleet.stage(x, maps, NULL_TYPES);
            return rows;
        });
        for (int w = 0; w < wave.size(); w++) {
            fleet.commitStaged(wave.get(w));
            rowsByUri.put(wave.get(w).ckpt().root(), rowsOf.get(w));
        }
        run.console().printf("[stats] committed %d checkpoint(s)%n", wave.size());
        return bytes;
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
