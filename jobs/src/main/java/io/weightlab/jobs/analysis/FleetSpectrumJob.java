package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.TaskBudget;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.linalg.CorrelationTraps;
import io.weightlab.common.linalg.MarchenkoPastur;
import io.weightlab.common.linalg.SpectralMetrics;
import io.weightlab.common.linalg.VectorLocalization;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab spectrum} over a fleet (docs/fleet.md, Fleet spectrum): the matrices of every checkpoint of a wave
 * in one Spark stage, largest first ({@link SpectrumPasses}, as a single run, so each row equals that run's), and each
 * checkpoint's rows, with the fleet columns, committed as one file of a dataset partitioned by model and step
 * ({@link FleetRun}, as {@link FleetStatsJob}): {@code --append} analyses only new or changed checkpoints.
 * Every file has the same columns, those an analysed row can have under the options, so one table reads them all.
 */
public final class FleetSpectrumJob {
    /** {@code spectrum}: SpectrumJob's options for every checkpoint (its input, out and --factors unused). */
    public record Options(List<String> inputs, String inputsFile, String out, FleetDataset.Mode mode, boolean prune,
                          FleetStatsJob.BadCheckpoints bad, SpectrumJob.Options spectrum) {}

    /** What came out: per analysed checkpoint (its URI), its rows as written; and the run facts (also in {@code _fleet/runs/}). */
    public record Result(Map<String, List<Map<String, Object>>> rowsByUri, Map<String, Object> run) {}

    private FleetSpectrumJob() {}

    public static Result run(SparkContext sc, Options o, PrintStream console) {
        if (o.spectrum().factorRank() > 0) {
            throw new UsageException("--factors writes factor files per checkpoint; a fleet spectrum writes only its Parquet dataset");
        }
        try (JobRun run = JobRun.start("spectrum", sc, console)) {
            return run(run, o);
        }
    }

    private static Result run(JobRun run, Options o) {
        SpectrumJob.Options opts = o.spectrum();
        if (opts.maxExactBytes() <= 0) {
            opts = opts.withMaxExactBytes(TaskBudget.exactBytes(run.sc()));
            run.console().printf("[spectrum] matrices over %s as float64 take a distributed route (--max-exact-mb auto: heap / (3 x tasks))%n",
                    Format.bytes(opts.maxExactBytes()));
        }
        final SpectrumJob.Options spectrum = opts;
        FleetRun fleet = FleetRun.begin(run, new FleetRun.Settings(o.inputs(), o.inputsFile(), o.out(), o.mode(), o.prune(), o.bad(),
                spectrum.dequantize(), spectrum.blockSize()), x -> refuse(run, x, spectrum));
        Map<String, Object> columns = columns(spectrum);
        try {
            Map<String, List<Map<String, Object>>> rowsByUri = new LinkedHashMap<>();
            long bytes = 0, matrices = 0;
            for (List<FleetRun.Opened> wave : fleet.waves()) {
                List<SpectrumPasses.Plan> plans = new ArrayList<>();
                for (FleetRun.Opened x : wave) plans.add(SpectrumPasses.plan(x.ckpt(), fleet.dequantization(x), spectrum));
                List<List<SpectrumJob.MatrixResult>> results = SpectrumPasses.compute(run, plans, spectrum);
                for (int i = 0; i < wave.size(); i++) {
                    FleetRun.Opened x = wave.get(i);
                    List<Map<String, Object>> rows = rows(x, results.get(i), columns);
                    fleet.commit(x, rows, columns);
                    rowsByUri.put(x.ckpt().root(), rows);
                    bytes += x.ckpt().totalBytes();
                    matrices += rows.size();
                }
                run.console().printf("[spectrum] committed %d checkpoint(s)%n", wave.size());
            }
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("matrices", matrices);
            facts.put("tensor_bytes", bytes);
            facts.put("max_exact_bytes", spectrum.maxExactBytes());
            facts.put("seconds", run.seconds());
            return new Result(rowsByUri, fleet.finish(facts));
        } catch (RuntimeException e) {
            fleet.abort(); // checkpoints committed so far stay: each is complete
            throw e;
        }
    }

    /** Refusals that depend on a checkpoint, made before the dataset exists: an adapter directory, a missing --include role. */
    private static void refuse(JobRun run, FleetRun.Opened x, SpectrumJob.Options o) {
        if (AdapterSpectrum.adapterDir(run.hadoop(), x.spec().uri()) != null) {
            throw new UsageException(x.spec().uri() + ": a PEFT adapter directory; a fleet spectrum takes full checkpoints "
                    + "(spectrum ADAPTER [--base MODEL] analyses one adapter)");
        }
        try {
            SpectrumJob.requireIncluded(o.include(), SpectrumPasses.matrices(x.ckpt()));
        } catch (UsageException e) {
            throw new UsageException(x.spec().uri() + ": " + e.getMessage());
        }
    }

    /** A checkpoint's rows as written: every column of the dataset, in its order (null where the row has none). */
    private static List<Map<String, Object>> rows(FleetRun.Opened x, List<SpectrumJob.MatrixResult> results, Map<String, Object> columns) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (SpectrumJob.MatrixResult r : results) {
            for (String c : r.row().keySet()) {
                // a column outside the template would give this file another schema than the others
                if (!columns.containsKey(c)) throw new IllegalStateException(x.spec().uri() + ": spectrum column '" + c + "' is not in the fleet dataset's schema");
            }
            Map<String, Object> m = new LinkedHashMap<>();
            for (String c : columns.keySet()) m.put(c, r.row().get(c));
            rows.add(m);
        }
        return rows;
    }

    /**
     * Every column a row can have under these options, each with an example value of its type: an analysed row of a
     * small matrix made by the functions that make the real rows (so names and types cannot drift apart), plus the
     * name parts that may be null in every row of a checkpoint. MP columns always (a full top-k spectrum has them).
     */
    static Map<String, Object> columns(SpectrumJob.Options o) {
        int rows = 12, cols = 8;
        double[] sv = new double[cols];
        for (int i = 0; i < cols; i++) sv[i] = 4.0 / (1 + i) + 0.1;
        TensorInfo t = new TensorInfo("model.layers.0.mlp.down_proj.weight", DType.F32, new long[] {rows, cols}, "template", 0, 4L * rows * cols);
        Map<String, Object> row = SpectrumJob.baseRow(t, TensorName.parse(t.name()), "ok", "");
        row.put("layer", 0L);
        row.put("expert", 0L);
        row.put("stack", "");
        row.putAll(SpectralMetrics.of(sv, rows, o.powerLawFit()));
        SpectrumJob.putAccuracy(row, "", 0.0);
        row.put("svd_seconds", 0.0);
        if (o.randomize()) row.putAll(CorrelationTraps.of(sv, sv, rows, cols).columns());
        if (o.vectors()) {
            row.put("vectors_status", "");
            row.putAll(VectorLocalization.missing());
        }
        if (o.randomize()) row.put("traps_status", "");
        row.put("mp_status", "");
        row.putAll(MarchenkoPastur.fit(sv, rows, cols).columns("mp_"));
        return row;
    }

    /** The console lines after a fleet spectrum run. */
    public static void printSummary(Result r, String out, PrintStream console) {
        @SuppressWarnings("unchecked") List<Object> analysed = (List<Object>) r.run().get("analysed");
        @SuppressWarnings("unchecked") List<Object> bad = (List<Object>) r.run().get("bad_checkpoints");
        console.printf("spectrum (fleet): %d checkpoint(s) analysed, %s unchanged, %d bad, %s matrices, in %.1f s%n", analysed.size(),
                r.run().get("unchanged"), bad.size(), r.run().get("matrices"), (double) r.run().get("seconds"));
        console.println("output: " + out + "  (Parquet dataset partitioned by model and step; run record in _fleet/runs/)");
    }
}
