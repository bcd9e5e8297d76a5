package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.BackgroundWrite;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.MomentPass;
import io.weightlab.jobs.spark.ParquetTables;
import io.weightlab.jobs.spark.ProgressReporter;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WorkPacker;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.io.NaturalOrder;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.report.Tables;
import io.weightlab.common.stats.StatsRow;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code weightlab stats}: per-tensor statistics computed on executors from row slices and merged exactly,
 * rolled up per layer, per module kind and for the whole model. The driver reads headers only.
 */
public final class StatsJob {

    /** What to do. {@code sliceBytes} bounds each work unit; {@code dequantize} pairs weights with their scales. */
    public record Options(String input, String out, boolean overwrite, long sliceBytes, boolean dequantize,
                          int[] blockSize, GgMode gg, String histogramTensor) implements Serializable {
        public Options(String input, String out, boolean overwrite, long sliceBytes, boolean dequantize, int[] blockSize) {
            this(input, out, overwrite, sliceBytes, dequantize, blockSize, GgMode.MLE, null);
        }
    }

    /** Generalized-Gaussian fitting: maximum likelihood on all values (default), moment estimates only, or none. */
    public enum GgMode { MLE, MOMENTS, NONE }

    /**
     * What came out: every row (tensors first, then roll-ups), a few run facts, the report's featured histogram and
     * the value histogram of every tensor (histograms.json).
     */
    public record Result(List<StatsRow> tensors, List<StatsRow> rollups, Map<String, Object> run,
                         io.weightlab.common.stats.TensorHistogram histogram, List<io.weightlab.common.stats.TensorHistogram> histograms) {}

    /** Bins of every value histogram: between the 0.1 % and 99.9 % quantiles, so one outlier does not squash the rest. */
    static final int HISTOGRAM_BINS = 120;
    public static final String HISTOGRAMS = "histograms.json";

    private StatsJob() {}

    public static Result run(SparkContext sc, Options o, PrintStream console) {
        try (JobRun run = JobRun.start("stats", sc, console)) {
            return run(run, o);
        }
    }

    private static Result run(JobRun run, Options o) {
        PrintStream console = run.console();
        JavaSparkContext jsc = run.jsc();
        Checkpoint ckpt = CheckpointCatalog.open(run.hadoop(), o.input());
        requireHistogramTensor(o.histogramTensor(), ckpt);
        long tCatalog = System.nanoTime();
        StagedOutput staged = run.output(o.out(), JobRun.Output.OPTIONAL, "where the statistics go", o.overwrite());
        return run.commitAfter("the statistics", () -> {
            Map<String, Dequantization> dq = o.dequantize() ? Dequantization.pair(ckpt, o.blockSize()) : Map.of();
            List<StatsUnit> units = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (TensorInfo t : ckpt.tensors()) {
                if (!t.dtype().isDecodable()) {
                    skipped.add(t.name() + " (" + t.dtype() + ": no numeric decoding)");
                    continue;
                }
                units.addAll(StatsUnit.slice(t, o.sliceBytes(), dq.get(t.name())));
            }
            // Largest units first, so the stage does not end waiting on one big slice.
            units.sort(Comparator.comparingLong(StatsUnit::byteLength).reversed());
            long bytes = units.stream().mapToLong(StatsUnit::byteLength).sum();
            console.printf("[stats] %s: %d tensors in %d file(s), %s of tensor data, %d slices of <= %s, %d quantized weight(s) dequantized%n",
                    ckpt.root(), ckpt.tensors().size(), ckpt.shards().size(), Format.bytes(bytes), units.size(),
                    Format.bytes(o.sliceBytes()), dq.size());
            for (String s : skipped) console.println("[stats] not analysed: " + s);

            List<List<StatsUnit>> tasks = WorkPacker.pack(units, StatsUnit::byteLength, jsc.defaultParallelism(), MomentPass.TASK_BYTES);
            ProgressReporter progress = run.progress(tasks.stream().mapToLong(l -> l.stream().mapToLong(StatsUnit::byteLength).sum()).toArray());
            Broadcast<SerializableConfiguration> conf = run.conf();
            org.apache.spark.util.LongAccumulator computeNanos = jsc.sc().longAccumulator("weightlab.compute.nanos");
            // Slices are merged in slice order, so results are bit-identical however the work was partitioned.
            long tSubmit = System.nanoTime();
            Map<String, TensorPartial> collected = MomentPass.collectPartials(jsc, conf, tasks, computeNanos);
            long tCollected = System.nanoTime();
            run.endProgress(progress);
            console.println("[stats] " + progress.taskTimes() + String.format(java.util.Locale.ROOT, ", reading and computing %.1fs", computeNanos.value() / 1e9));

            Map<String, io.weightlab.common.stats.GgFit> fits = o.gg() == GgMode.NONE ? Map.of()
                    : GgFitStage.fit(jsc, conf, units, analysable(collected), o.gg() == GgMode.MLE, console);
            long tFitted = System.nanoTime();
            List<StatsRow> tensorRows = tensorRows(ckpt, collected, dq, fits, o.gg());
            List<StatsRow> rollups = rollups(ckpt, collected, o.gg());
            double secs = run.seconds();
            Map<String, Object> facts = run.facts();
            facts.put("input", ckpt.root());
            facts.put("files", ckpt.shards().size());
            facts.put("tensors", ckpt.tensors().size());
            facts.put("parameters", ckpt.parameterCount());
            facts.put("tensor_bytes", bytes);
            facts.put("work_units", units.size());
            facts.put("slice_bytes", o.sliceBytes());
            facts.put("dequantized", dq.size());
            facts.put("not_analysed", skipped);
            facts.put("seconds", secs);
            facts.put("seconds_catalog", run.secondsAt(tCatalog));
            facts.put("seconds_distributed", (tCollected - tSubmit) / 1e9);
            facts.put("seconds_gg_fit", (tFitted - tCollected) / 1e9);
            facts.put("seconds_rollup", (System.nanoTime() - tFitted) / 1e9);
            facts.put("read_gb_per_s", bytes / secs / 1e9);
            facts.put("spark_master", run.sparkMaster());
            facts.put("finished", Instant.now().toString());
            facts.put("definitions", definitions());
            io.weightlab.common.stats.TensorHistogram hist = null;
            String chosen = o.histogramTensor() != null ? o.histogramTensor() : defaultHistogramTensor(ckpt, collected);
            if (chosen != null) {
                if (!collected.containsKey(chosen)) throw new io.weightlab.common.error.UsageException("--histogram-tensor: no tensor '" + chosen + "' in " + ckpt.root());
                hist = io.weightlab.common.stats.TensorHistogram.of(chosen, collected.get(chosen), fits.get(chosen), HISTOGRAM_BINS);
            }
            List<io.weightlab.common.stats.TensorHistogram> histograms = new ArrayList<>();
            for (StatsRow row : tensorRows) {
                TensorPartial p = collected.get(row.name());
                if (p.moments().count() > 0) histograms.add(io.weightlab.common.stats.TensorHistogram.of(row.name(), p, fits.get(row.name()), HISTOGRAM_BINS));
            }
            Result result = new Result(tensorRows, rollups, facts, hist, histograms);
            if (staged != null) write(run.hadoop(), staged, result);
            return result;
        });
    }

    /** One row per tensor that was analysed, in the checkpoint's order. */
    static List<StatsRow> tensorRows(Checkpoint ckpt, Map<String, TensorPartial> collected, Map<String, Dequantization> dq,
                                             Map<String, io.weightlab.common.stats.GgFit> fits, GgMode gg) {
        List<StatsRow> tensorRows = new ArrayList<>();
        for (TensorInfo t : ckpt.tensors()) {
            TensorPartial p = collected.get(t.name());
            if (p == null) continue;
            TensorName tn = TensorName.parse(t.name());
            boolean deq = dq.containsKey(t.name());
            tensorRows.add(StatsRow.of("tensor", t.name(), t.dtype().name(), t.shapeList(), 1, t.elementCount(),
                    tn.stack(), tn.layer(), tn.kind().label(), tn.role().name().toLowerCase(), deq, p)
                    .withFit(fits.getOrDefault(t.name(), io.weightlab.common.stats.GgFit.notFitted(
                            gg == GgMode.NONE ? "not requested" : "not a weight (quantization side tensor or buffer)"))));
        }
        return tensorRows;
    }

    /** The weights' partials merged per layer, module kind, role and for the whole model. */
    static List<StatsRow> rollups(Checkpoint ckpt, Map<String, TensorPartial> collected, GgMode gg) {
        Map<String, TensorPartial> groups = new LinkedHashMap<>();
        Map<String, long[]> groupCounts = new HashMap<>();
        for (TensorInfo t : ckpt.tensors()) {
            TensorPartial p = collected.get(t.name());
            TensorName tn = TensorName.parse(t.name());
            if (p == null || !tn.isAnalysable()) continue;
            for (String g : List.of("layer\u0000" + tn.layerKey(), "module_kind\u0000" + tn.kind().label(),
                    "role\u0000" + tn.role().name().toLowerCase(), "model\u0000" + "all")) {
                // merge reads its argument only: one copy per group, not per (tensor, group) (a 512 KB count array each)
                TensorPartial acc = groups.get(g);
                if (acc == null) groups.put(g, p.copy());
                else acc.merge(p);
                long[] c = groupCounts.computeIfAbsent(g, k -> new long[2]);
                c[0]++;
                c[1] += t.elementCount();
            }
        }
        List<StatsRow> rollups = new ArrayList<>();
        List<String> keys = new ArrayList<>(groups.keySet());
        keys.sort(Comparator.comparing((String k) -> levelRank(k.substring(0, k.indexOf('\u0000'))))
                .thenComparing((a, b) -> NaturalOrder.INSTANCE.compare(a, b)));
        for (String g : keys) {
            String level = g.substring(0, g.indexOf('\u0000'));
            String key = g.substring(g.indexOf('\u0000') + 1);
            long[] c = groupCounts.get(g);
            TensorPartial gp = groups.get(g);
            io.weightlab.common.stats.GgFit gf = gg == GgMode.NONE ? io.weightlab.common.stats.GgFit.notFitted("not requested")
                    : io.weightlab.common.stats.GgFit.precheck(gp.moments()) != null ? io.weightlab.common.stats.GgFit.notFitted(io.weightlab.common.stats.GgFit.precheck(gp.moments()))
                    : gp.quantiles().isExact() ? gp.quantiles().ggFitExact(gp.moments())
                    : io.weightlab.common.stats.GgFit.notFitted("group fits need one stored dtype of <= 16 bits");
            rollups.add(StatsRow.of(level, key, "", null, c[0], c[1], null, null, null, null, false, gp).withFit(gf));
        }
        return rollups;
    }

    /** {@code --histogram-tensor} must name a tensor of the checkpoint: refused before the work, with the nearest names. */
    static void requireHistogramTensor(String name, Checkpoint ckpt) {
        if (name == null) return;
        List<String> names = ckpt.tensors().stream().map(TensorInfo::name).toList();
        if (!names.contains(name)) {
            throw new io.weightlab.common.error.UsageException("--histogram-tensor: no tensor '" + name + "' in " + ckpt.root()
                    + io.weightlab.common.error.Suggestions.didYouMean(name, names));
        }
    }

    /** The report's histogram by default: the first MLP down projection, else the largest weight matrix. */
    static String defaultHistogramTensor(Checkpoint ckpt, Map<String, TensorPartial> collected) {
        TensorInfo largest = null;
        for (TensorInfo t : ckpt.tensors()) {
            TensorName n = TensorName.parse(t.name());
            if (!collected.containsKey(t.name()) || !n.isAnalysable() || t.rank() != 2) continue;
            if (n.kind() == io.weightlab.common.model.ModuleKind.MLP_DOWN) return t.name();
            if (largest == null || t.elementCount() > largest.elementCount()) largest = t;
        }
        return largest == null ? null : largest.name();
    }

    /** The partials of tensors that are weights (not quantization side tensors or buffers). */
    static Map<String, TensorPartial> analysable(Map<String, TensorPartial> collected) {
        Map<String, TensorPartial> m = new HashMap<>();
        collected.forEach((n, p) -> { if (TensorName.parse(n).isAnalysable()) m.put(n, p); });
        return m;
    }

    private static int levelRank(String level) {
        return switch (level) {
            case "model" -> 0;
            case "role" -> 1;
            case "module_kind" -> 2;
            default -> 3;
        };
    }

    static Map<String, String> definitions() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("std, variance, skewness, kurtosis_excess", "population forms over finite values (numpy ddof=0): m_k = mean((x-mean)^k); skewness m3/m2^1.5; kurtosis_excess m4/m2^2 - 3");
        d.put("std_sample, variance_sample", "ddof=1 (torch's default)");
        d.put("l1, l2, rms", "sum|x|, sqrt(sum x^2), sqrt(mean x^2) over finite values");
        d.put("zero_fraction", "fraction of finite values equal to 0 (-0.0 counts)");
        d.put("outlier_ratio", "max|x| / std");
        d.put("q01..q99", "inverted-CDF quantiles (smallest v with F(v) >= p); exact for stored dtypes of <= 16 bits, else the midpoint of a float32 bucket of relative width 2^-7, within quantile_relative_error (2^-8 + 2^-24) of the exact quantile");
        d.put("gg_*", "generalized Gaussian f(x) = b/(2aG(1/b)) exp(-(|x-mu|/a)^b) with mu = mean: gg_beta_moment from mean|x-mu|^2/var, gg_beta_kurtosis from the excess kurtosis, gg_beta/gg_alpha by maximum likelihood on all values (Newton/bisection; gg_mle_steps); gg_loglik, gaussian_loglik, laplace_loglik are mean log-likelihoods per value at the MLE; *_ks are KS distances (on 2^-7 float32 buckets when ks_on_buckets); best_fit has the smallest KS");
        d.put("dequantized", "true when the values are (q - zero_point) * scale from the tensor's _scale/_zero_point/_scale_inv companions");
        return d;
    }

    static void write(Configuration hadoop, StagedOutput staged, Result r) {
        List<Map<String, Object>> all = new ArrayList<>();
        for (StatsRow row : r.tensors()) all.add(row.toMap());
        for (StatsRow row : r.rollups()) all.add(row.toMap());
        // the Parquet table is written beside the JSON, CSV and HTML files (BackgroundWrite)
        String table = staged.staged("stats.parquet").toString();
        BackgroundWrite.start(() -> ParquetTables.write(hadoop, all, table)).alongside(() -> writeDocuments(staged, r, all));
    }

    private static void writeDocuments(StagedOutput staged, Result r, List<Map<String, Object>> all) {
        try {
            try (FSDataOutputStream os = staged.create("stats.json")) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("run", r.run());
                doc.put("rows", all);
                if (r.histogram() != null) doc.put("histogram", Map.of("tensor", r.histogram().tensor(), "edges", r.histogram().edges(), "counts", r.histogram().counts()));
                Tables.writeJson(os, doc);
            }
            try (FSDataOutputStream os = staged.create("stats.csv")) {
                Tables.writeCsv(os, all);
            }
            try (FSDataOutputStream os = staged.create(HISTOGRAMS)) {
                Tables.writeJson(os, histogramsDoc(r.histograms()));
            }
            try (FSDataOutputStream os = staged.create("report.html")) {
                os.write(io.weightlab.common.report.AnalysisReport.render(r.run(), r.tensors(), r.rollups(), r.histogram(), r.histograms(), null, null)
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new io.weightlab.common.error.WeightLabException("writing results failed: " + e.getMessage(), e);
        }
    }

    /** histograms.json: per tensor its bin edges and counts, and how exact the counts are (docs/schema.md). */
    static Map<String, Object> histogramsDoc(List<io.weightlab.common.stats.TensorHistogram> hs) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (io.weightlab.common.stats.TensorHistogram h : hs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tensor", h.tensor());
            m.put("exact", h.exact());
            m.put("edges", h.edges());
            m.put("counts", h.counts());
            rows.add(m);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("bins", HISTOGRAM_BINS);
        doc.put("binning", "equal-width bins between the tensor's 0.1 % and 99.9 % quantiles; values outside are not counted; "
                + "exact: true for stored dtypes of <= 16 bits (every value binned), false for wider ones (each value binned at its "
                + "float32 bucket's midpoint, within 2^-8 + 2^-24 relative of the value)");
        doc.put("tensors", rows);
        return doc;
    }

    /** The console summary: model totals and the roll-up per role. */
    public static void printSummary(Result r, String out, PrintStream console) {
        console.println();
        console.printf("%-16s %8s %12s %12s %12s %10s %10s %8s%n", "group", "tensors", "params", "mean", "std", "kurtosis", "max|x|", "nan/inf");
        for (StatsRow row : r.rollups()) {
            if (!row.level().equals("model") && !row.level().equals("role")) continue;
            console.printf("%-16s %8d %12s %12s %12s %10s %10s %8d%n", row.level().equals("model") ? "model" : row.name(),
                    row.tensors(), Format.count(row.elements()), Format.g(row.mean()), Format.g(row.std()),
                    Format.g(row.kurtosisExcess()), Format.g(row.maxAbs()), row.nanCount() + row.infCount());
        }
        long bad = r.tensors().stream().filter(x -> x.nanCount() + x.infCount() > 0).count();
        if (bad > 0) console.printf("%d tensor(s) hold NaN or Inf values: see the report%n", bad);
        console.printf("stats: %d tensors in %.1f s (%.2f GB/s)%n", r.tensors().size(), (double) r.run().get("seconds"),
                (double) r.run().get("read_gb_per_s"));
        if (out != null) console.println("output: " + out + "  (report.html, stats.json, stats.csv, stats.parquet, " + HISTOGRAMS + ")");
    }
}
