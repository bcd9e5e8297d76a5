package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.AdapterClients;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.linalg.GramSpectrum;
import io.weightlab.common.linalg.LowRankCorrected;
import io.weightlab.common.linalg.RandomizedSvd;
import io.weightlab.common.linalg.LowRankSpectrum;
import io.weightlab.common.linalg.SpectralMetrics;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.lora.PeftAdapterWriter;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.SerializableConfiguration;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.broadcast.Broadcast;
import org.bytedeco.javacpp.FloatPointer;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code spectrum} of a PEFT LoRA adapter directory (docs/algorithms.md §17.2): one task per module, the ESD of its
 * update ΔW = s·B·A from the factors ({@code lora_factors}, never forming ΔW), or with {@code --base} the ESD of the
 * merged W + s·B·A ({@code lora_with_base}, formed densely on the executor; above --max-exact-mb its top-k by a
 * randomized route with B·A as a low-rank correction inside the operator). Rows carry the base weight's name, the
 * one PEFT merges into. Bad input (unpaired or mis-shaped factors, a base without the target or of another shape,
 * NaN/Inf) stops the job with one line naming the file, tensor and rule, before anything is committed.
 */
final class AdapterSpectrum {
    static final String FACTORS = "lora_factors", WITH_BASE = "lora_with_base";
    private static final String PREFIX = "base_model.model.", A = ".lora_A.weight", B = ".lora_B.weight";

    /** One module: its factors, PEFT's scaling, the base weight it merges into (null without --base). */
    record ModuleTask(String target, TensorInfo a, TensorInfo b, double scaling, TensorInfo base, boolean fanInFanOut) implements Serializable {
        int r() { return (int) a.dim(0); }

        int in() { return (int) a.dim(1); }

        int out() { return (int) b.dim(0); }
    }

    private AdapterSpectrum() {}

    /** The adapter directory when {@code input} is one (or its adapter_model.safetensors), else null. */
    static String adapterDir(Configuration conf, String input) {
        String dir = input.endsWith(PeftAdapterWriter.WEIGHTS) ? new Path(input).getParent().toString() : input.replaceAll("/+$", "");
        try {
            Path p = new Path(dir, PeftAdapterWriter.CONFIG);
            FileSystem fs = p.getFileSystem(conf);
            return fs.exists(p) && fs.exists(new Path(dir, PeftAdapterWriter.WEIGHTS)) ? dir : null;
        } catch (IOException | IllegalArgumentException e) {
            return null; // not a path we can look beside: not an adapter; the checkpoint reader reports it
        }
    }

    /** Driver: the modules, their scalings and (with --base) base weights, every structural rule checked. */
    static List<ModuleTask> plan(Configuration conf, String dir, String basePath, SpectrumJob.Options o) {
        if (o.factorRank() > 0) throw new UsageException("--factors writes a checkpoint's factors; an adapter already is factors (" + dir + ")");
        if (o.randomize()) throw new UsageException("--randomize permutes a dense matrix's elements; not available on an adapter (" + dir + ")");
        return modules(conf, dir, basePath);
    }

    /**
     * The adapter's modules with their scalings and (with a base) base weights, every structural rule checked; also
     * what {@code compare BASE ADAPTER_DIR} compares (the base merged with the adapter, as PEFT's merge_and_unload).
     */
    static List<ModuleTask> modules(Configuration conf, String dir, String basePath) {
        String configPath = dir + "/" + PeftAdapterWriter.CONFIG;
        JsonNode cfg;
        try {
            cfg = new ObjectMapper().readTree(CheckpointSiblings.readSmall(conf, configPath));
        } catch (IOException e) {
            throw new CheckpointFormatException(configPath, null, "AdapterConfig", "not valid JSON: " + e.getMessage());
        }
        if (cfg.path("use_dora").asBoolean(false)) {
            throw new CheckpointFormatException(configPath, null, "PlainLora", "use_dora: a DoRA update is not s·B·A (magnitude-rescaled columns)");
        }
        Checkpoint adapter = CheckpointCatalog.open(conf, dir + "/" + PeftAdapterWriter.WEIGHTS);
        for (TensorInfo t : adapter.tensors()) checkPair(adapter, t);
        Map<String, AdapterClients.ClientModule> modules = AdapterClients.modules(adapter, cfg); // PlainLoraKeys, ConfigRank, scalings
        boolean fanInFanOut = cfg.path("fan_in_fan_out").asBoolean(false);
        Checkpoint base = basePath == null ? null : CheckpointCatalog.open(conf, basePath);
        List<ModuleTask> tasks = new ArrayList<>();
        for (Map.Entry<String, AdapterClients.ClientModule> e : modules.entrySet()) {
            String m = e.getKey();
            String target = (m.startsWith(PREFIX) ? m.substring(PREFIX.length()) : m) + ".weight";
            AdapterClients.ClientModule cm = e.getValue();
            TensorInfo w = base == null ? null : baseWeight(base, target, cm, fanInFanOut);
            tasks.add(new ModuleTask(target, cm.a(), cm.b(), cm.scaling(), w, fanInFanOut));
        }
        return tasks;
    }

    /** Rules CompleteModule (each lora_A has its lora_B and back) and LoraShapes (A [r, in], B [out, r]). */
    private static void checkPair(Checkpoint adapter, TensorInfo t) {
        String n = t.name();
        boolean isA = n.endsWith(A);
        if (!isA && !n.endsWith(B)) return; // other keys: AdapterClients refuses them (PlainLoraKeys)
        String module = n.substring(0, n.length() - A.length());
        TensorInfo other = adapter.tensor(module + (isA ? B : A));
        if (other == null) {
            throw new CheckpointFormatException(t.file(), n, "CompleteModule", "no matching " + (isA ? "lora_B" : "lora_A") + " for module '" + module + "'");
        }
        TensorInfo a = isA ? t : other, b = isA ? other : t;
        if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1)) {
            throw new CheckpointFormatException(t.file(), n, "LoraShapes", "lora_A " + a.shapeString() + " and lora_B " + b.shapeString()
                    + " do not form B·A (A must be [r, in], B [out, r])");
        }
        if (!t.dtype().isFloatingPoint()) throw new CheckpointFormatException(t.file(), n, "LoraDType", t.dtype() + " is not floating point");
    }

    /** Rules BaseHasTarget and BaseShape: the weight PEFT merges into exists and is [out, in] ([in, out] with fan_in_fan_out). */
    private static TensorInfo baseWeight(Checkpoint base, String target, AdapterClients.ClientModule cm, boolean fanInFanOut) {
        TensorInfo w = base.tensor(target);
        if (w == null) {
            throw new CheckpointFormatException(base.root(), target, "BaseHasTarget", "the adapter's module '" + cm.a().name()
                    + "' merges into this weight, which the base does not hold");
        }
        long out = cm.b().dim(0), in = cm.a().dim(1);
        long[] want = fanInFanOut ? new long[] {in, out} : new long[] {out, in};
        if (w.rank() != 2 || w.dim(0) != want[0] || w.dim(1) != want[1]) {
            throw new CheckpointFormatException(w.file(), target, "BaseShape", "is " + w.shapeString() + " but the adapter's B·A is [" + out + ", " + in
                    + "]" + (fanInFanOut ? " (stored [in, out] with fan_in_fan_out)" : ""));
        }
        if (!w.dtype().isDecodable()) throw new CheckpointFormatException(w.file(), target, "BaseDType", w.dtype() + " cannot be decoded");
        return w;
    }

    /** Inside the job's commit: the modules' results, sorted by name like a checkpoint's, written to the spectrum tables. */
    static List<SpectrumJob.MatrixResult> finish(JobRun run, StagedOutput staged, List<ModuleTask> tasks, SpectrumJob.Options o, String dir) {
        List<SpectrumJob.MatrixResult> results = compute(run, tasks, o);
        for (SpectrumJob.MatrixResult r : results) RandomMatrixColumns.addBulkFit(r, false);
        results.sort((x, y) -> io.weightlab.common.io.NaturalOrder.INSTANCE.compare(x.name(), y.name()));
        run.console().printf("[spectrum] %d module(s) in %.1f s%n", results.size(), run.seconds());
        if (staged != null) SpectrumJob.write(run, staged, results, dir);
        return results;
    }

    /** Executors, one task per module, largest first. */
    static List<SpectrumJob.MatrixResult> compute(JobRun run, List<ModuleTask> tasks, SpectrumJob.Options o) {
        List<ModuleTask> work = new ArrayList<>(tasks);
        work.sort(Comparator.comparingLong((ModuleTask t) -> (long) t.out() * t.in()).reversed());
        boolean withBase = !work.isEmpty() && work.get(0).base() != null;
        run.console().printf("[spectrum] adapter: %d module(s), route %s%n", work.size(), withBase ? WITH_BASE : FACTORS);
        if (work.isEmpty()) return new ArrayList<>();
        Broadcast<SerializableConfiguration> conf = run.conf();
        return new ArrayList<>(run.jsc().parallelize(work, work.size()).map(t -> analyse(conf.value().get(), t, o)).collect());
    }

    /** On an executor: the module's factors (and base weight), all finite, and the ESD of s·B·A or W + s·B·A. */
    static SpectrumJob.MatrixResult analyse(Configuration conf, ModuleTask t, SpectrumJob.Options o) {
        int out = t.out(), in = t.in(), r = t.r();
        if (t.base() != null && t.base().elementCount() * 8 > o.maxExactBytes()) return topWithBase(conf, t, o);
        double[] a, b, w = null;
        try (RangeReader reader = new RangeReader(conf)) {
            a = LoraModule.readFinite(reader, t.a());
            b = LoraModule.readFinite(reader, t.b());
            if (t.base() != null) w = LoraModule.readFinite(reader, t.base());
        }
        long t0 = System.nanoTime();
        double[] sv;
        Map<String, Object> row;
        if (w == null) {
            sv = LowRankSpectrum.singularValues(b, out, r, a, in, t.scaling());
            row = row(t, "ok", "lora factors (thin QR of B and Aᵀ, dgesdd of the r x r core, float64)");
            SpectrumJob.putAccuracy(row, "lora_qr", LowRankSpectrum.errorEstimate(sv, b, a, t.scaling()));
        } else {
            if (t.fanInFanOut()) w = LowRankSpectrum.transpose(w, in, out); // Conv1D stores [in, out]; PEFT merges (B·A)ᵀ
            LowRankSpectrum.addProduct(w, b, out, r, a, in, t.scaling());
            GramSpectrum.Result res = o.gram() ? GramSpectrum.auto(w, out, in) : GramSpectrum.exact(w, out, in);
            sv = res.singularValues();
            row = row(t, "ok", "W + s·B·A formed in float64, " + (res.route() == GramSpectrum.Route.GRAM ? "gram (certified)" : "LAPACK dgesdd"));
            SpectrumJob.putAccuracy(row, res.route().label, res.relErrorEstimate());
        }
        row.putAll(SpectralMetrics.of(sv, Math.max(out, in), o.powerLawFit()));
        row.put("svd_seconds", (System.nanoTime() - t0) / 1e9);
        return new SpectrumJob.MatrixResult(t.target(), "ok", row, sv);
    }

    /**
     * A base weight over --max-exact-mb: the top-k singular values of W + s·B·A by randomized block Krylov with the
     * sum as an operator ({@link LowRankCorrected}): W read once into float32 off-heap (exact for F32/BF16/F16), B and A
     * in float64, the product B·A never formed. Memory: the base weight in float32, as the randomized route of a
     * checkpoint's matrix.
     */
    static SpectrumJob.MatrixResult topWithBase(Configuration conf, ModuleTask t, SpectrumJob.Options o) {
        int out = t.out(), in = t.in(), r = t.r();
        TensorInfo wt = t.base();
        int wRows = (int) wt.dim(0), wCols = (int) wt.dim(1);
        int k = Math.min(o.topK() > 0 ? o.topK() : 64, Math.min(out, in));
        double[] a, b;
        RandomizedSvd.Operator w;
        try (RangeReader reader = new RangeReader(conf)) {
            a = LoraModule.readFinite(reader, t.a());
            b = LoraModule.readFinite(reader, t.b());
            if (TensorValues.exactInFloat32(wt.dtype())) {
                FloatPointer p = new FloatPointer(wt.elementCount());
                try {
                    if (TensorValues.readFloat32(reader, wt, p) >= 0) throw LoraModule.nonFinite(wt);
                } catch (RuntimeException e) {
                    p.close();
                    throw e;
                }
                w = RandomizedSvd.denseFloatOffHeap(p, wRows, wCols);
            } else {
                w = RandomizedSvd.dense(LoraModule.readFinite(reader, wt), wRows, wCols);
            }
        }
        long t0 = System.nanoTime();
        double[] sv;
        try (RandomizedSvd.Operator op = new LowRankCorrected(w, t.fanInFanOut(), b, out, r, a, in, t.scaling())) {
            sv = RandomizedSvd.topSingularValuesKrylov(op, k, 8, o.powerIterations(), RandomizedSvd.seedFor(o.seed(), t.target()));
        }
        Map<String, Object> row = row(t, "ok", "W + s·B·A as an operator (B·A never formed), randomized block Krylov top-" + k + " (block "
                + (k + 8) + ", " + o.powerIterations() + " iterations), base over --max-exact-mb");
        row.putAll(SpectralMetrics.of(sv, Math.max(out, in), o.powerLawFit()));
        SpectrumJob.putAccuracy(row, "krylov", Double.NaN);
        row.put("svd_seconds", (System.nanoTime() - t0) / 1e9);
        return new SpectrumJob.MatrixResult(t.target(), "ok", row, sv);
    }

    /** SpectrumJob's leading columns, then the adapter's: lora_route, lora_r, lora_scaling. */
    static Map<String, Object> row(ModuleTask t, String status, String method) {
        TensorName n = TensorName.parse(t.target());
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", t.target());
        row.put("dtype", (t.base() != null ? t.base() : t.a()).dtype().name());
        row.put("N", Math.max(t.out(), t.in()));
        row.put("M", Math.min(t.out(), t.in()));
        row.put("rows", t.out());
        row.put("cols", t.in());
        row.put("stack", n.stack());
        row.put("layer", n.layer());
        row.put("expert", n.expert());
        row.put("module_kind", n.kind().label());
        row.put("method", method);
        row.put("status", status);
        row.put("lora_route", t.base() != null ? WITH_BASE : FACTORS);
        row.put("lora_r", t.r());
        row.put("lora_scaling", t.scaling());
        return row;
    }
}
