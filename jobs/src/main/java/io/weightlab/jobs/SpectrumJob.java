package io.weightlab.jobs;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.StagedOutput;
import io.weightlab.common.io.WeightLabException;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.SpectralMetrics;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.report.Tables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code weightlab spectrum}: all singular values of every weight matrix, one matrix per task (LAPACK dgesdd in
 * double), many matrices in parallel, and the WeightWatcher metrics of each. Every 2-D tensor appears in the
 * output: analysed, or listed with the reason it was not (never skipped silently).
 */
public final class SpectrumJob {

    /** Which matrices: attention/MLP/router always; embeddings and heads on request. */
    public record Options(String input, String out, boolean overwrite, Set<String> include, long maxExactBytes,
                          boolean powerLaw, int[] blockSize, boolean dequantize) implements Serializable {}

    /** One matrix's outcome: metrics (or the reason there are none) and its singular values. */
    public record MatrixResult(String name, String status, Map<String, Object> row, double[] singularValues) implements Serializable {}

    private SpectrumJob() {}

    static String exclusion(TensorInfo t, TensorName n, Set<String> include) {
        if (t.rank() != 2) return null; // not a matrix: not listed
        if (!n.isAnalysable()) return "not a weight (" + n.kind().label() + ")";
        if (!t.dtype().isDecodable()) return "dtype " + t.dtype() + " cannot be decoded";
        if (t.dim(0) < 2 || t.dim(1) < 2) return "degenerate matrix " + t.shapeString();
        ModuleKind.Role role = n.role();
        if (role == ModuleKind.Role.EMBEDDING && !include.contains("embeddings")) return "embedding (add --include embeddings)";
        if (role == ModuleKind.Role.HEAD && !include.contains("head")) return "head (add --include head)";
        if (role == ModuleKind.Role.NORM || role == ModuleKind.Role.BUFFER) return "not a projection (" + n.kind().label() + ")";
        return "";
    }

    public static List<MatrixResult> run(SparkSession spark, Options o, PrintStream console) {
        long t0 = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hconf = jsc.hadoopConfiguration();
        Checkpoint ckpt = CheckpointCatalog.open(hconf, o.input());
        StagedOutput staged = o.out() == null ? null : StagedOutput.begin(hconf, o.out(), o.overwrite());
        try {
            Map<String, Dequantization> dq = o.dequantize() ? Dequantization.pair(ckpt, o.blockSize()) : Map.of();
            List<MatrixResult> results = new ArrayList<>();
            List<Tuple2<TensorInfo, Dequantization>> work = new ArrayList<>();
            for (TensorInfo t : ckpt.tensors()) {
                TensorName n = TensorName.parse(t.name());
                String why = exclusion(t, n, o.include());
                if (why == null) continue;
                if (!why.isEmpty()) {
                    results.add(new MatrixResult(t.name(), "not analysed: " + why, baseRow(t, n, "not analysed: " + why, "none"), new double[0]));
                } else if (t.elementCount() * 8 > o.maxExactBytes()) {
                    String s = "not analysed: " + t.shapeString() + " needs " + Format.bytes(t.elementCount() * 8)
                            + " in double, over --max-exact-mb; the distributed randomized path is not built yet";
                    results.add(new MatrixResult(t.name(), s, baseRow(t, n, s, "none"), new double[0]));
                } else {
                    work.add(new Tuple2<>(t, dq.get(t.name())));
                }
            }
            work.sort(Comparator.comparingLong((Tuple2<TensorInfo, Dequantization> w) -> w._1().elementCount()).reversed());
            long bytes = work.stream().mapToLong(w -> w._1().byteLength()).sum();
            console.printf("[spectrum] %s: %d matrices to factorize (%s), %d listed as not analysed%n", ckpt.root(), work.size(),
                    Format.bytes(bytes), results.size());
            long[] taskBytes = work.stream().mapToLong(w -> w._1().elementCount() * w._1().elementCount() / Math.max(1, w._1().dim(0) + w._1().dim(1))).toArray();
            ProgressReporter progress = new ProgressReporter("spectrum", taskBytes, console);
            spark.sparkContext().addSparkListener(progress);
            Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hconf));
            boolean pl = o.powerLaw();
            try {
                if (!work.isEmpty()) {
                    results.addAll(jsc.parallelize(work, work.size()).map(w -> factorize(conf.value().get(), w._1(), w._2(), pl)).collect());
                }
            } finally {
                spark.sparkContext().removeSparkListener(progress);
                conf.destroy();
            }
            results.sort((a, b) -> io.weightlab.common.io.NaturalOrder.INSTANCE.compare(a.name(), b.name()));
            console.printf("[spectrum] %d matrices in %.1f s%n", work.size(), (System.nanoTime() - t0) / 1e9);
            if (staged != null) {
                write(spark, staged, results, ckpt.root());
                staged.commit();
            }
            return results;
        } catch (RuntimeException e) {
            if (staged != null) staged.abort();
            throw e;
        }
    }

    static Map<String, Object> baseRow(TensorInfo t, TensorName n, String status, String method) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", t.name());
        row.put("dtype", t.dtype().name());
        row.put("N", Math.max(t.dim(0), t.dim(1)));
        row.put("M", Math.min(t.dim(0), t.dim(1)));
        row.put("rows", t.dim(0));
        row.put("cols", t.dim(1));
        row.put("stack", n.stack());
        row.put("layer", n.layer());
        row.put("expert", n.expert());
        row.put("module_kind", n.kind().label());
        row.put("method", method);
        row.put("analysis", status);
        return row;
    }

    static MatrixResult factorize(Configuration conf, TensorInfo t, Dequantization dq, boolean powerLaw) {
        int rows = (int) t.dim(0), cols = (int) t.dim(1);
        double[] a = new double[Math.multiplyExact(rows, cols)];
        try (RangeReader r = new RangeReader(conf)) {
            // read in pieces so the raw bytes never double the matrix's footprint
            int size = t.dtype().byteSize();
            int per = Math.max(1, (8 << 20) / size);
            byte[] buf = new byte[(int) Math.min((long) per * size, t.byteLength())];
            for (int e = 0; e < a.length; e += per) {
                int n = Math.min(per, a.length - e);
                r.read(t.file(), t.dataBegin() + (long) e * size, buf, 0, n * size);
                ElementDecoder.decode(t.dtype(), buf, 0, n, a, e);
            }
            if (dq != null) {
                dq.load(r);
                dq.apply(a, a.length, 0, cols);
            }
        }
        for (double v : a) {
            if (!Double.isFinite(v)) {
                String s = "not analysed: the matrix holds NaN or Inf";
                return new MatrixResult(t.name(), s, baseRow(t, TensorName.parse(t.name()), s, "none"), new double[0]);
            }
        }
        long t0 = System.nanoTime();
        double[] sv = Lapack.singularValues(a, rows, cols);
        double secs = (System.nanoTime() - t0) / 1e9;
        Map<String, Object> row = baseRow(t, TensorName.parse(t.name()), "ok", "exact (LAPACK dgesdd, float64)");
        row.putAll(SpectralMetrics.of(sv, Math.max(rows, cols), powerLaw));
        row.put("svd_seconds", secs);
        return new MatrixResult(t.name(), "ok", row, sv);
    }

    static void write(SparkSession spark, StagedOutput staged, List<MatrixResult> results, String input) {
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Object> svs = new LinkedHashMap<>();
        for (MatrixResult r : results) {
            rows.add(r.row());
            if (r.singularValues().length > 0) svs.put(r.name(), r.singularValues());
        }
        // columns differ between analysed and listed matrices: give every row the union, in first-seen order
        List<String> cols = new ArrayList<>();
        for (Map<String, Object> r : rows) for (String k : r.keySet()) if (!cols.contains(k)) cols.add(k);
        List<Map<String, Object>> full = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            Map<String, Object> f = new LinkedHashMap<>();
            for (String c : cols) f.put(c, r.get(c));
            full.add(f);
        }
        try {
            try (FSDataOutputStream os = staged.create("spectrum.json")) {
                Tables.writeJson(os, Map.of("input", input, "matrices", full));
            }
            try (FSDataOutputStream os = staged.create("spectrum.csv")) {
                Tables.writeCsv(os, full);
            }
            try (FSDataOutputStream os = staged.create("singular_values.json")) {
                Tables.writeJson(os, svs);
            }
        } catch (IOException e) {
            throw new WeightLabException("writing results failed: " + e.getMessage(), e);
        }
        ParquetTables.write(spark, full, staged.staged("spectrum.parquet").toString());
    }

    public static void printSummary(List<MatrixResult> results, String out, PrintStream console) {
        console.printf("%n%-56s %10s %10s %8s %8s %8s%n", "matrix", "sv_max", "stable_rk", "alpha", "D", "status");
        for (MatrixResult r : results) {
            if (!r.status().equals("ok")) continue;
            Map<String, Object> m = r.row();
            console.printf("%-56s %10s %10s %8s %8s %8s%n", r.name(), Format.g((double) m.get("sv_max")), Format.g((double) m.get("stable_rank")),
                    m.containsKey("alpha") ? Format.g((double) m.get("alpha")) : "-", m.containsKey("D") ? Format.g((double) m.get("D")) : "-",
                    m.getOrDefault("status", ""));
        }
        long skipped = results.stream().filter(r -> !r.status().equals("ok")).count();
        if (skipped > 0) console.printf("%d matrices listed as not analysed (reason in spectrum.json)%n", skipped);
        if (out != null) console.println("output: " + out + "  (spectrum.json, spectrum.csv, spectrum.parquet, singular_values.json)");
    }
}
