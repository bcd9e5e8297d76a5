package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.BackgroundWrite;
import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.TaskBudget;
import io.weightlab.jobs.spark.ParquetTables;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.Dequantization;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.common.linalg.GramSpectrum;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.RandomizedSvd;
import io.weightlab.common.linalg.PowerLawOptions;
import io.weightlab.common.linalg.SpectralMetrics;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.report.Tables;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.SparkContext;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
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
    public static final String SINGULAR_VALUES = io.weightlab.jobs.spark.OutputNames.SINGULAR_VALUES;


    /**
     * Which matrices: attention/MLP/router always; embeddings and heads on request. {@code gram}: full spectra may
     * take the certified Gram route ({@code --method auto}, the default); false keeps dgesdd ({@code --method exact}).
     */
    public record Options(String input, String out, boolean overwrite, Set<String> include, long maxExactBytes,
                          boolean powerLaw, int[] blockSize, boolean dequantize, boolean randomized, int topK,
                          int powerIterations, long seed, int factorRank, String factorsDir, boolean randomize,
                          boolean gram, PowerLawOptions tailFit, boolean vectors) implements Serializable {
        /** Without {@code --vectors}. */
        public Options(String input, String out, boolean overwrite, Set<String> include, long maxExactBytes,
                       boolean powerLaw, int[] blockSize, boolean dequantize, boolean randomized, int topK,
                       int powerIterations, long seed, int factorRank, String factorsDir, boolean randomize,
                       boolean gram, PowerLawOptions tailFit) {
            this(input, out, overwrite, include, maxExactBytes, powerLaw, blockSize, dequantize, randomized, topK,
                    powerIterations, seed, factorRank, factorsDir, randomize, gram, tailFit, false);
        }

        /** The plain PL fit (none of --fit, --fix-fingers, --xmin-min, --xmin-max, --detx). */
        public Options(String input, String out, boolean overwrite, Set<String> include, long maxExactBytes,
                       boolean powerLaw, int[] blockSize, boolean dequantize, boolean randomized, int topK,
                       int powerIterations, long seed, int factorRank, String factorsDir, boolean randomize, boolean gram) {
            this(input, out, overwrite, include, maxExactBytes, powerLaw, blockSize, dequantize, randomized, topK,
                    powerIterations, seed, factorRank, factorsDir, randomize, gram, PowerLawOptions.DEFAULT);
        }

        /** What SpectralMetrics fits: null with --no-powerlaw. */
        public PowerLawOptions powerLawFit() {
            return powerLaw ? tailFit : null;
        }

        public Options(String input, String out, boolean overwrite, Set<String> include, long maxExactBytes,
                       boolean powerLaw, int[] blockSize, boolean dequantize) {
            this(input, out, overwrite, include, maxExactBytes, powerLaw, blockSize, dequantize, false, 0, 4, 0, 0, null);
        }

        /** Without {@code --randomize} (no correlation traps), full spectra by the certified Gram route where it holds. */
        public Options(String input, String out, boolean overwrite, Set<String> include, long maxExactBytes,
                       boolean powerLaw, int[] blockSize, boolean dequantize, boolean randomized, int topK,
                       int powerIterations, long seed, int factorRank, String factorsDir) {
            this(input, out, overwrite, include, maxExactBytes, powerLaw, blockSize, dequantize, randomized, topK,
                    powerIterations, seed, factorRank, factorsDir, false, true);
        }

        Options withMaxExactBytes(long bytes) {
            return new Options(input, out, overwrite, include, bytes, powerLaw, blockSize, dequantize, randomized, topK,
                    powerIterations, seed, factorRank, factorsDir, randomize, gram, tailFit, vectors);
        }

        Options withFactorsDir(String dir) {
            return new Options(input, out, overwrite, include, maxExactBytes, powerLaw, blockSize, dequantize, randomized, topK,
                    powerIterations, seed, factorRank, dir, randomize, gram, tailFit, vectors);
        }

        /** The same options with full spectra by dgesdd only ({@code --method exact}). */
        public Options exactOnly() {
            return new Options(input, out, overwrite, include, maxExactBytes, powerLaw, blockSize, dequantize, randomized, topK,
                    powerIterations, seed, factorRank, factorsDir, randomize, false, tailFit, vectors);
        }
    }

    /** One matrix's outcome: metrics (or the reason there are none) and its singular values. */
    public record MatrixResult(String name, String status, Map<String, Object> row, double[] singularValues) implements Serializable {}

    private SpectrumJob() {}

    static String exclusion(TensorInfo t, TensorName n, Set<String> include) {
        if (t.rank() != 2 && t.rank() != 4) return null; // neither a matrix nor a Conv2D kernel: not listed
        if (!n.isAnalysable()) return "not a weight (" + n.kind().label() + ")";
        if (!t.dtype().isDecodable()) return "dtype " + t.dtype() + " cannot be decoded";
        if (t.rank() == 4) {
            String why = ConvKernelSpectrum.sizeExclusion(t);
            if (why != null) return why;
        } else if (t.dim(0) < 2 || t.dim(1) < 2) {
            return "degenerate matrix " + t.shapeString();
        }
        ModuleKind.Role role = n.role();
        if (role == ModuleKind.Role.EMBEDDING && !include.contains("embeddings")) return "embedding (add --include embeddings)";
        if (role == ModuleKind.Role.HEAD && !include.contains("head")) return "head (add --include head)";
        if (role == ModuleKind.Role.NORM || role == ModuleKind.Role.BUFFER) return "not a projection (" + n.kind().label() + ")";
        return "";
    }

    /** {@code --include embeddings|head} on a checkpoint without such a matrix is a mistake, refused with what there is. */
    static void requireIncluded(Set<String> include, List<TensorInfo> matrices) {
        List<String> names = matrices.stream().filter(t -> t.rank() == 2 || t.rank() == 4).map(TensorInfo::name).toList();
        for (String s : include) {
            String role = s.equals("embeddings") ? "role:embedding" : "role:" + s;
            io.weightlab.common.model.TensorSelector.parse("--include " + s, role).requireMatch("--include " + s, names);
        }
    }

    public static List<MatrixResult> run(SparkContext sc, Options o, PrintStream console) {
        return run(sc, o, null, console);
    }

    /** {@code base}: with a PEFT adapter directory as input, the model it adapts (ESD of W + s·B·A), else null. */
    public static List<MatrixResult> run(SparkContext sc, Options o, String base, PrintStream console) {
        try (JobRun run = JobRun.start("spectrum", sc, console)) {
            return run(run, o, base);
        }
    }

    private static List<MatrixResult> run(JobRun run, Options o, String base) {
        PrintStream console = run.console();
        JavaSparkContext jsc = run.jsc();
        String adapterDir = AdapterSpectrum.adapterDir(run.hadoop(), o.input());
        if (base != null && adapterDir == null) {
            throw new io.weightlab.common.error.UsageException("--base goes with a PEFT adapter directory (adapter_config.json + adapter_model.safetensors) as input; "
                    + o.input() + " is not one");
        }
        if (adapterDir != null && o.vectors()) {
            throw new io.weightlab.common.error.UsageException("--vectors needs the matrices' singular vectors; an adapter's ESD comes from its factors, which have none");
        }
        List<AdapterSpectrum.ModuleTask> adapterTasks = adapterDir == null ? null : AdapterSpectrum.plan(run.hadoop(), adapterDir, base, o);
        Checkpoint ckpt = adapterDir == null ? CheckpointCatalog.open(run.hadoop(), o.input()) : null;
        if (o.maxExactBytes() <= 0) {
            o = o.withMaxExactBytes(TaskBudget.exactBytes(jsc.sc()));
            console.printf("[spectrum] matrices over %s as float64 take a distributed route (--max-exact-mb auto: heap / (3 x tasks))%n",
                    Format.bytes(o.maxExactBytes()));
        }
        StagedOutput staged = run.output(o.out(), JobRun.Output.OPTIONAL, "where the spectra go", o.overwrite());
        if (o.factorRank() > 0) {
            if (staged == null) throw new io.weightlab.common.error.UsageException("--factors needs --out");
            o = o.withFactorsDir(staged.staged("factors").toString());
        }
        final Options opts = o;
        return run.commitAfter("the spectra", () -> {
            if (adapterTasks != null) return AdapterSpectrum.finish(run, staged, adapterTasks, opts, adapterDir);
            Map<String, Dequantization> dq = opts.dequantize() ? Dequantization.pair(ckpt, opts.blockSize()) : Map.of();
            SpectrumPasses.Plan plan = SpectrumPasses.plan(ckpt, dq, opts);
            List<MatrixResult> results = SpectrumPasses.compute(run, List.of(plan), opts).get(0);
            console.printf("[spectrum] %d matrices in %.1f s%n", plan.work().size(), run.seconds());
            if (staged != null) write(run, staged, results, ckpt.root());
            return results;
        });
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
        row.put("conv2d_slices", 1);
        row.put("method", method);
        row.put("status", status);
        return row;
    }

    /** A matrix holding NaN/Inf, on any route: listed with the reason, no values; the job goes on. */
    static MatrixResult nonFinite(TensorInfo t) {
        String s = "not analysed: the matrix holds NaN or Inf";
        return new MatrixResult(t.name(), s, baseRow(t, TensorName.parse(t.name()), s, "none"), new double[0]);
    }

    static MatrixResult factorize(Configuration conf, TensorInfo t, Dequantization dq, boolean powerLaw, Options o) {
        if (t.rank() == 4) return ConvKernelSpectrum.factorize(conf, t, dq, o);
        int rows = (int) t.dim(0), cols = (int) t.dim(1);
        if (o.randomized()) return randomized(conf, t, dq, powerLaw, o);
        double[] a;
        try (RangeReader r = new RangeReader(conf)) {
            a = io.weightlab.common.io.TensorValues.read(r, t, 0, Math.multiplyExact(rows, cols), dq);
        }
        for (double v : a) {
            if (!Double.isFinite(v)) return nonFinite(t);
        }
        long t0 = System.nanoTime();
        GramSpectrum.Result res;
        String method;
        Lapack.Factors f = null;
        try {
            if (o.factorRank() > 0) {
                f = Lapack.svd(a, rows, cols);
                res = new GramSpectrum.Result(f.s(), GramSpectrum.Route.GESDD, GramSpectrum.gesddEstimate(f.s()), Double.NaN);
                try {
                    writeFactors(conf, o.factorsDir(), t.name(), f, Math.min(o.factorRank(), f.k()));
                } catch (IOException e) {
                    throw new WeightLabException(o.factorsDir() + ": writing the factors of '" + t.name() + "' failed: " + e.getMessage(), e);
                }
                method = "exact (LAPACK dgesdd with factors, float64)";
            } else if (o.gram()) {
                res = GramSpectrum.auto(a, rows, cols);
                method = res.route() == GramSpectrum.Route.GRAM
                        ? "gram (dsyrk on the short side + " + GramSpectrum.eigenRoutine(Math.min(rows, cols)) + ", float64; certified)"
                        : String.format("exact (LAPACK dgesdd, float64; the Gram route's estimate %.1e was over %.0e)",
                        res.gramEstimate(), GramSpectrum.TOLERANCE);
            } else {
                res = GramSpectrum.exact(a, rows, cols);
                method = "exact (LAPACK dgesdd, float64)";
            }
        } catch (WeightLabException e) {
            // LAPACK knows the shape, not the tensor: name the file and the tensor here
            throw new WeightLabException(t.file() + ": tensor '" + t.name() + "': " + e.getMessage(), e);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double[] sv = res.singularValues();
        Map<String, Object> row = baseRow(t, TensorName.parse(t.name()), "ok", method);
        row.putAll(SpectralMetrics.of(sv, Math.max(rows, cols), o.powerLawFit()));
        putAccuracy(row, res.route().label, res.relErrorEstimate());
        row.put("svd_seconds", secs);
        if (o.randomize()) row.putAll(RandomMatrixColumns.traps(t, a, sv, rows, cols, o.seed()));
        if (o.vectors()) VectorColumns.put(row, f != null ? f : vectorFactors(t, a, rows, cols), sv);
        return new MatrixResult(t.name(), "ok", row, sv);
    }

    /** --vectors: one more dgesdd (jobz='S') on the matrix this task already holds. */
    private static Lapack.Factors vectorFactors(TensorInfo t, double[] a, int rows, int cols) {
        try {
            return Lapack.svd(a, rows, cols);
        } catch (WeightLabException e) {
            throw new WeightLabException(t.file() + ": tensor '" + t.name() + "' (singular vectors for --vectors): " + e.getMessage(), e);
        }
    }

    /**
     * The route and its accuracy certificate: {@code sv_rel_error_est} is the estimated largest relative error of the
     * reported values (NaN for top-k routes, which have no such bound), certified when it is at most 1e-8.
     */
    static void putAccuracy(Map<String, Object> row, String route, double relErrorEstimate) {
        row.put("sv_route", route);
        row.put("sv_rel_error_est", relErrorEstimate);
        row.put("sv_certified", relErrorEstimate <= GramSpectrum.TOLERANCE);
    }

    /**
     * Writes the top-r factors of one matrix as {@code <dir>/<name>.safetensors}: {@code <name>.U} [rows, r],
     * {@code <name>.S} [r] and {@code <name>.V} [cols, r] in F64, so that W_r = U diag(S) Vᵀ (PiSSA's layout).
     * Written by the executor that computed them, into the job's staging directory.
     */
    static void writeFactors(Configuration conf, String dir, String name, Lapack.Factors f, int r) throws IOException {
        int rows = f.rows(), cols = f.cols(), k = f.k();
        java.nio.ByteBuffer u = java.nio.ByteBuffer.allocate(rows * r * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows; i++) for (int j = 0; j < r; j++) u.putDouble(f.u()[i * k + j]);
        java.nio.ByteBuffer sBuf = java.nio.ByteBuffer.allocate(r * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int j = 0; j < r; j++) sBuf.putDouble(f.s()[j]);
        java.nio.ByteBuffer v = java.nio.ByteBuffer.allocate(cols * r * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < cols; i++) for (int j = 0; j < r; j++) v.putDouble(f.vt()[j * cols + i]);
        Map<String, byte[]> data = Map.of(name + ".U", u.array(), name + ".S", sBuf.array(), name + ".V", v.array());
        io.weightlab.common.io.SafetensorsLayout layout = io.weightlab.common.io.SafetensorsLayout.of(List.of(
                new io.weightlab.common.io.SafetensorsLayout.Spec(name + ".U", io.weightlab.common.model.DType.F64, new long[] {rows, r}),
                new io.weightlab.common.io.SafetensorsLayout.Spec(name + ".S", io.weightlab.common.model.DType.F64, new long[] {r}),
                new io.weightlab.common.io.SafetensorsLayout.Spec(name + ".V", io.weightlab.common.model.DType.F64, new long[] {cols, r})),
                Map.of("format", "pt", "weightlab_factors_of", name));
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir, name + ".safetensors");
        try (FSDataOutputStream os = p.getFileSystem(conf).create(p, true);
             io.weightlab.common.io.SafetensorsWriter w = new io.weightlab.common.io.SafetensorsWriter(os, layout, p.toString())) {
            for (io.weightlab.common.io.SafetensorsLayout.Entry e : layout.entries()) w.write(data.get(e.spec().name()));
        }
    }

    /**
     * The randomized route: the matrix is decoded piece by piece straight into an off-heap buffer (one copy of the
     * matrix per task, none on the heap), then block Krylov top-k (the same products with A as power iterations, far
     * faster convergence; BENCHMARKS.md).
     */
    private static MatrixResult randomized(Configuration conf, TensorInfo t, Dequantization dq, boolean powerLaw, Options o) {
        int rows = (int) t.dim(0), cols = (int) t.dim(1);
        long n = Math.multiplyExact((long) rows, cols);
        // Stored in at most 32 bits and not dequantized: float32 holds every value exactly, and sgemm is twice dgemm.
        boolean single = dq == null && t.dtype().byteSize() <= 4;
        org.bytedeco.javacpp.Pointer p = single ? new org.bytedeco.javacpp.FloatPointer(n) : new org.bytedeco.javacpp.DoublePointer(n);
        try (RangeReader r = new RangeReader(conf)) {
            for (long f = 0; f < n; f += 1 << 20) {
                double[] piece = io.weightlab.common.io.TensorValues.read(r, t, f, Math.min(n, f + (1 << 20)), dq);
                for (double v : piece) {
                    if (!Double.isFinite(v)) {
                        p.close();
                        return nonFinite(t);
                    }
                }
                if (single) {
                    float[] fl = new float[piece.length];
                    for (int i = 0; i < fl.length; i++) fl[i] = (float) piece[i];
                    ((org.bytedeco.javacpp.FloatPointer) p).position(f).put(fl, 0, fl.length);
                } else {
                    ((org.bytedeco.javacpp.DoublePointer) p).position(f).put(piece, 0, piece.length);
                }
            }
            p.position(0); // native calls take the address at the position
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        long t0 = System.nanoTime();
        int k = o.topK() > 0 ? o.topK() : 64;
        double[] sv;
        try (RandomizedSvd.Operator op = single ? RandomizedSvd.denseFloatOffHeap((org.bytedeco.javacpp.FloatPointer) p, rows, cols)
                : RandomizedSvd.denseOffHeap((org.bytedeco.javacpp.DoublePointer) p, rows, cols)) {
            sv = RandomizedSvd.topSingularValuesKrylov(op, k, 8, o.powerIterations(), RandomizedSvd.seedFor(o.seed(), t.name()));
        } catch (WeightLabException e) {
            throw new WeightLabException(t.file() + ": tensor '" + t.name() + "': " + e.getMessage(), e);
        }
        String method = "randomized block Krylov top-" + k + " (block " + (k + 8) + ", " + o.powerIterations() + " iterations, "
                + (single ? "float32" : "float64") + " products)";
        double secs = (System.nanoTime() - t0) / 1e9;
        Map<String, Object> row = baseRow(t, TensorName.parse(t.name()), "ok", method);
        row.putAll(SpectralMetrics.of(sv, Math.max(rows, cols), o.powerLawFit()));
        putAccuracy(row, "krylov", Double.NaN);
        row.put("svd_seconds", secs);
        return new MatrixResult(t.name(), "ok", row, sv);
    }

    static void write(JobRun job, StagedOutput staged, List<MatrixResult> results, String input) {
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
        // the Parquet table is written beside the JSON, CSV and HTML files (BackgroundWrite)
        String table = staged.staged("spectrum.parquet").toString();
        BackgroundWrite.start(() -> ParquetTables.write(job.hadoop(), full, table)).alongside(() -> writeDocuments(job, staged, full, svs, results, input));
    }

    private static void writeDocuments(JobRun job, StagedOutput staged, List<Map<String, Object>> full, Map<String, Object> svs,
                                       List<MatrixResult> results, String input) {
        try {
            try (FSDataOutputStream os = staged.create("spectrum.json")) {
                Tables.writeJson(os, Map.of("input", input, "matrices", full));
            }
            try (FSDataOutputStream os = staged.create("spectrum.csv")) {
                Tables.writeCsv(os, full);
            }
            try (FSDataOutputStream os = staged.create(SINGULAR_VALUES)) {
                Tables.writeJson(os, svs);
            }
            Map<String, double[]> svArrays = new LinkedHashMap<>();
            svs.forEach((k, v) -> svArrays.put(k, (double[]) v));
            Map<String, Object> run = job.facts();
            run.put("input", input);
            run.put("matrices", results.size());
            run.put("spark_master", job.sparkMaster());
            run.put("finished", java.time.Instant.now().toString());
            try (FSDataOutputStream os = staged.create("report.html")) {
                os.write(io.weightlab.common.report.AnalysisReport.render(run, null, null, null, full, svArrays)
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new WeightLabException("writing results failed: " + e.getMessage(), e);
        }
    }

    public static void printSummary(List<MatrixResult> results, String out, PrintStream console) {
        console.printf("%n%-56s %10s %10s %8s %8s %8s%n", "matrix", "sv_max", "stable_rk", "alpha", "D", "status");
        for (MatrixResult r : results) {
            if (!r.status().equals("ok")) continue;
            Map<String, Object> m = r.row();
            console.printf("%-56s %10s %10s %8s %8s %8s%n", r.name(), Format.g((double) m.get("sv_max")), Format.g((double) m.get("stable_rank")),
                    m.containsKey("alpha") ? Format.g((double) m.get("alpha")) : "-", m.containsKey("D") ? Format.g((double) m.get("D")) : "-",
                    m.getOrDefault("alpha_status", ""));
        }
        long skipped = results.stream().filter(r -> !r.status().equals("ok")).count();
        if (skipped > 0) console.printf("%d matrices listed as not analysed (reason in spectrum.json)%n", skipped);
        if (out != null) console.println("output: " + out + "  (report.html, spectrum.json, spectrum.csv, spectrum.parquet, singular_values.json)");
    }
}
