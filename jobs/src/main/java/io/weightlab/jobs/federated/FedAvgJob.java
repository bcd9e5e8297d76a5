package io.weightlab.jobs.federated;

import io.weightlab.jobs.spark.CheckpointSiblings;
import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WeightWriter;

import io.weightlab.common.fed.TensorAggregation;
import io.weightlab.common.fed.ClientSpec;
import io.weightlab.common.fed.ClientWeights;
import io.weightlab.common.fed.ElementAggregator;
import io.weightlab.common.fed.RobustPolicy;
import io.weightlab.common.fed.RoundManifest;
import io.weightlab.common.fed.ServerOptimizer;
import io.weightlab.common.fed.ServerOptimizerRegistry;
import io.weightlab.common.fed.ServerStepAction;
import io.weightlab.common.fed.StagedSliceAction;
import io.weightlab.common.fed.VarianceCorrection;
import io.weightlab.common.model.TensorSelector;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.DType;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.ShardPlan;
import io.weightlab.common.commit.CompletionMarker;
import io.weightlab.common.commit.ResumeKey;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import io.weightlab.common.stats.MomentAccumulator;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code weightlab fedavg}: one server-side round over full checkpoints. The driver reads headers only and checks
 * every client against the template (names, shapes, floating dtypes); pass 1 (executors) streams every client
 * once for its moments, NaN/Inf counts and update norm; the driver drops or fails by policy, weights the survivors
 * and derives clipping; pass 2 computes the aggregate slice by slice in parallel (ranged reads of every client,
 * float64 into scratch) with its moments and drift diagnostics; pass 3 writes the new global model through the shard
 * writer from those slices, applying the variance correction that needed the whole tensor's moments. Memory per
 * task: K x step doubles with step = budget / K, whatever K is; the clients are read twice.
 */
public final class FedAvgJob {
    public static final String MODEL = "model/";
    public static final String REPORT = "round_report.json";

    public record Options(String manifest, String clientsPrefix, String out, boolean overwrite, String method, Map<String, String> methodParams,
                          String weighting, String varianceCorrection, double conservativeC, Double eps, Double relativeEps,
                          String correctPattern, Double rejectAbove, String clip, String badClients, int minClients, double minFraction,
                          DType outDType, long maxShardBytes, long memoryBudget, ServerOpt serverOpt, String mergeInto, boolean resume) implements Serializable {}

    /** A server optimiser step after the aggregation: name, parameters, and the previous round's state directory (or null). */
    public record ServerOpt(String name, Map<String, String> params, String stateIn) implements Serializable {}

    public static final String STATE = "server_state/";

    private record Unit(String tensor, long first, int count) implements Serializable {}

    private FedAvgJob() {}

    public static Map<String, Object> run(SparkSession spark, Options o, PrintStream console) {
        long t0 = System.nanoTime();
        if (o.out() == null) throw new UsageException("--out is required");
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hconf = jsc.hadoopConfiguration();
        RoundManifest manifest = o.manifest() != null ? RoundManifests.read(hconf, o.manifest()) : RoundManifests.discover(hconf, o.clientsPrefix());
        if (io.weightlab.common.fed.LoraAggregatorRegistry.has(o.method())) return FedLoraJob.run(spark, o, manifest, console);
        if (o.mergeInto() != null) throw new UsageException("--merge-into applies to LoRA rounds (fedit, ffa, stack, svd, lora-fair)");
        ElementAggregator aggregator = io.weightlab.common.fed.AggregatorRegistry.create(o.method(),
                new io.weightlab.common.method.MethodParams(o.method(), o.methodParams() == null ? Map.of() : o.methodParams(), f -> null));
        VarianceCorrection vc = o.varianceCorrection() == null ? null
                : VarianceCorrection.parse(o.varianceCorrection(), o.conservativeC(), o.eps(), o.relativeEps());
        RobustPolicy robust = new RobustPolicy(o.rejectAbove(), o.clip());
        boolean drop = dropsBadClients(o);
        Checkpoint reference = manifest.reference() == null ? null : CheckpointCatalog.open(hconf, manifest.reference());
        if ((robust.needsNorms() || (vc != null && vc.selfWeight() > 0) || o.serverOpt() != null) && reference == null) {
            throw new UsageException(manifest.source() + ": clipping, outlier rejection, the conservative correction and server optimisers need 'reference'"
                    + " (the previous global model)");
        }
        ServerOptimizer serverOpt = o.serverOpt() == null ? null : ServerOptimizerRegistry.create(o.serverOpt().name(), o.serverOpt().params());
        ServerState prevState = o.serverOpt() == null || o.serverOpt().stateIn() == null ? null : ServerState.read(hconf, o.serverOpt().stateIn(), o.serverOpt().name());
        console.printf("[fedavg] round %s: %d client(s), %s%n", manifest.round(), manifest.clients().size(), aggregator.describe());

        // Driver: headers only. Problems are collected per client, then the policy decides.
        Map<String, String> problems = new LinkedHashMap<>();
        Map<String, Checkpoint> ckpts = new LinkedHashMap<>();
        for (ClientSpec c : manifest.clients()) {
            if (aggregator.weighted() && o.weighting().equals("examples") && c.examples() <= 0) {
                problems.put(c.id(), "examples must be > 0, got " + c.examples() + " (rule: PositiveExamples)");
                continue;
            }
            try {
                ckpts.put(c.id(), CheckpointCatalog.open(hconf, c.uri()));
            } catch (RuntimeException e) {
                problems.put(c.id(), "unreadable: " + e.getMessage());
            }
        }
        Checkpoint template = reference != null ? reference : ckpts.values().stream().findFirst()
                .orElseThrow(() -> new UsageException(manifest.source() + ": no readable client:" + RoundManifest.problemList(problems)));
        for (Map.Entry<String, Checkpoint> e : new ArrayList<>(ckpts.entrySet())) {
            String why = mismatch(template, e.getValue());
            if (why != null) {
                problems.put(e.getKey(), why);
                ckpts.remove(e.getKey());
            }
        }
        decide(problems, drop, manifest, ckpts.size(), o, "before reading values");

        // Pass 1: moments, NaN/Inf and update norms of every client.
        List<String> ids = new ArrayList<>(ckpts.keySet());
        List<TensorInfo> floats = new ArrayList<>();
        for (TensorInfo t : template.tensors()) if (t.dtype().isFloatingPoint()) floats.add(t);
        TensorSelector correct = vc == null ? null : VarianceCorrection.selection(o.correctPattern(), floats.stream().map(TensorInfo::name).toList());
        int step = (int) Math.max(4096, Math.min(1 << 20, o.memoryBudget() / (8L * (ids.size() + 3))));
        List<Unit> units = units(floats, step);
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hconf));
        List<Checkpoint> clientList = new ArrayList<>();
        for (String id : ids) clientList.add(ckpts.get(id));
        Broadcast<List<Checkpoint>> clientsB = jsc.broadcast(clientList);
        Broadcast<Checkpoint> refB = jsc.broadcast(reference);
        // Pass 1 always counts NaN/Inf and the update norms; the clients' full moments only feed the variance correction.
        boolean fullMoments = vc != null;
        try {
            Map<String, ClientMoments> pass1 = new TreeMap<>(jsc.parallelize(units, Math.max(1, Math.min(units.size(), 4 * jsc.defaultParallelism())))
                    .mapToPair(u -> new Tuple2<>(u.tensor(), clientMoments(u, clientsB.value(), refB.value(), fullMoments, conf.value().get())))
                    .reduceByKey(ClientMoments::merge)
                    .collectAsMap());
            long tValidated = System.nanoTime();
            double[] norms = new double[ids.size()];
            for (Map.Entry<String, ClientMoments> e : pass1.entrySet()) {
                for (int k = 0; k < ids.size(); k++) {
                    norms[k] += e.getValue().updateSq[k];
                    long bad = e.getValue().nonFinite[k];
                    if (bad > 0 && !problems.containsKey(ids.get(k))) {
                        problems.put(ids.get(k), "'" + e.getKey() + "' holds " + bad + " NaN/Inf value(s) in " + ckpts.get(ids.get(k)).root() + " (rule: FiniteValues)");
                    }
                }
            }
            for (int k = 0; k < norms.length; k++) norms[k] = Math.sqrt(norms[k]);
            if (robust.rejectAbove() != null) {
                List<Integer> finite = new ArrayList<>();
                for (int k = 0; k < ids.size(); k++) if (!problems.containsKey(ids.get(k))) finite.add(k);
                double[] fn = new double[finite.size()];
                for (int i = 0; i < fn.length; i++) fn[i] = norms[finite.get(i)];
                boolean[] rej = robust.reject(fn);
                for (int i = 0; i < fn.length; i++) {
                    if (rej[i]) problems.put(ids.get(finite.get(i)), String.format("update norm %.6g is an outlier (> median + %s x 1.4826 MAD; rule: OutlierUpdate)", fn[i], robust.rejectAbove()));
                }
            }
            decide(problems, drop, manifest, ids.size() - (int) ids.stream().filter(problems::containsKey).count(), o, "after reading values");

            // Survivors, their weights and clip factors.
            List<Integer> kept = new ArrayList<>();
            for (int k = 0; k < ids.size(); k++) if (!problems.containsKey(ids.get(k))) kept.add(k);
            List<ClientSpec> keptSpecs = new ArrayList<>();
            for (int k : kept) keptSpecs.add(manifest.client(ids.get(k)));
            double[] weights = ClientWeights.of(aggregator.weighted() ? o.weighting() : "uniform", keptSpecs);
            double[] keptNorms = new double[kept.size()];
            for (int i = 0; i < kept.size(); i++) keptNorms[i] = norms[kept.get(i)];
            double[] clip = robust.clipFactors(keptNorms);

            Map<String, TensorAggregation> actions = new LinkedHashMap<>();
            for (TensorInfo t : floats) {
                List<TensorInfo> ts = new ArrayList<>();
                for (int k : kept) ts.add(clientList.get(k).tensor(t.name()));
                actions.put(t.name(), new TensorAggregation(ts, weights, clip, reference == null ? null : reference.tensor(t.name()), aggregator,
                        vc == null ? 0 : vc.selfWeight(), step));
            }
            StagedOutput staged = begin(hconf, manifest, ckpts, reference, prevState, o, null, console);
            return staged.commitAfter("the round", () -> {
                // Pass 2, in parallel over slices: the aggregate (float64, to scratch) and the drift diagnostics.
                // A --resume run keeps the slices the dead run completed, with their diagnostics.
                List<Tuple2<Unit, String>> work = new ArrayList<>();
                List<Tuple2<Unit, String[]>> todo = new ArrayList<>();
                Map<String, TensorAggregation.Diagnostics> diag = new TreeMap<>();
                for (int i = 0; i < units.size(); i++) {
                    String rel = StagedOutput.SCRATCH + "agg/" + i + ".f64";
                    Unit u = units.get(i);
                    work.add(new Tuple2<>(u, staged.stagedFile(rel).toString()));
                    TensorAggregation.Diagnostics done = CompletionMarker.read(staged, rel, TensorAggregation.Diagnostics.class, 8L * u.count());
                    if (done != null) diag.merge(u.tensor(), done, TensorAggregation.Diagnostics::merge);
                    else todo.add(new Tuple2<>(u, new String[] {staged.stagedFile(rel).toString(), staged.completionMarker(rel).toString()}));
                }
                if (todo.size() < work.size()) console.printf("[fedavg] resuming: %d of %d slice(s) were aggregated by the previous run%n", work.size() - todo.size(), work.size());
                Broadcast<Map<String, TensorAggregation>> actB = jsc.broadcast(actions);
                if (!todo.isEmpty()) {
                    jsc.parallelize(todo, Math.max(1, Math.min(todo.size(), 4 * jsc.defaultParallelism())))
                            .mapToPair(w -> new Tuple2<>(w._1().tensor(), computeSlice(w._1(), actB.value().get(w._1().tensor()), w._2()[0], w._2()[1], conf.value().get())))
                            .reduceByKey(TensorAggregation.Diagnostics::merge)
                            .collectAsMap().forEach((k, v) -> diag.merge(k, v, TensorAggregation.Diagnostics::merge));
                }
                actB.destroy();
                long tComputed = System.nanoTime();

                List<Map<String, Object>> tensorRows = new ArrayList<>();
                Map<String, double[]> corrections = new LinkedHashMap<>();
                for (TensorInfo t : floats) {
                    TensorAggregation.Diagnostics d = diag.get(t.name());
                    ClientMoments cm = pass1.get(t.name());
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("name", t.name());
                    row.put("elements", t.elementCount());
                    row.put("client_spread", d.spread / t.elementCount());
                    if (reference != null) row.put("mean_update_norm", Math.sqrt(d.meanUpdateSq));
                    if (vc != null && !VarianceCorrection.skipped(t.name()) && t.elementCount() > 1
                            && (correct == null ? t.rank() == 2 : correct.matches(t.name()))) {
                        double[] vars = new double[kept.size()];
                        for (int i = 0; i < kept.size(); i++) vars[i] = cm.moments[kept.get(i)].varianceSample();
                        double target = vc.target(vars, cm.reference == null ? 0 : cm.reference.varianceSample());
                        double current = d.output.varianceSample();
                        double scale = vc.scale(target, current);
                        corrections.put(t.name(), new double[] {d.output.mean(), scale});
                        row.put("variance_before", current);
                        row.put("variance_target", target);
                        row.put("correction_scale", scale);
                    }
                    tensorRows.add(row);
                }

                // Pass 3, one task per shard: the computed slices, corrected and encoded, assembled into the shards.
                Map<String, List<Tuple2<Unit, String>>> slicesOf = new LinkedHashMap<>();
                Map<String, StagedSliceAction> slicesByTensor = new LinkedHashMap<>();
                for (Tuple2<Unit, String> w : work) slicesOf.computeIfAbsent(w._1().tensor(), x -> new ArrayList<>()).add(w);
                DType outDType = o.outDType();
                List<TransformPlanner.Planned> plans = new ArrayList<>();
                for (TensorInfo t : template.tensors()) {
                    TensorAggregation a = actions.get(t.name());
                    if (a == null) {
                        plans.add(new TransformPlanner.Planned(t, null, KeepAction.INSTANCE, "not floating point: copied from the template", t.dtype()));
                        continue;
                    }
                    List<Tuple2<Unit, String>> sl = slicesOf.get(t.name());
                    String[] files = new String[sl.size()];
                    long[] firsts = new long[sl.size()];
                    int[] counts = new int[sl.size()];
                    for (int i = 0; i < sl.size(); i++) {
                        files[i] = sl.get(i)._2();
                        firsts[i] = sl.get(i)._1().first();
                        counts[i] = sl.get(i)._1().count();
                    }
                    double[] c = corrections.getOrDefault(t.name(), new double[] {0, 1});
                    StagedSliceAction slices = new StagedSliceAction(files, firsts, counts, c[0], c[1], a.describe());
                    slicesByTensor.put(t.name(), slices);
                    TransformPlanner.Planned pl = serverOpt == null
                            ? new TransformPlanner.Planned(t, "fedavg", slices, a.describe(), outDType != null ? outDType : t.dtype())
                            : new TransformPlanner.Planned(t, "fedavg+" + o.serverOpt().name(), serverStep(slices, reference, prevState, serverOpt, t,
                            ServerStepAction.Output.MODEL), a.describe() + ", then " + serverOpt.describe(), outDType != null ? outDType : t.dtype());
                    plans.add(pl);
                }
                ShardPlan plan = WeightWriter.shardPlan(plans, o.maxShardBytes());
                Map<String, String> md = new TreeMap<>();
                md.put("format", "pt");
                md.put("weightlab.job", "fedavg");
                md.put("weightlab.round", String.valueOf(manifest.round()));
                WeightWriter.write(jsc, conf, staged, MODEL, plan, plans, md);
                CheckpointSiblings.copy(hconf, template.root(), staged, MODEL, outDType);
                WeightWriter.writeIndex(staged, MODEL, plan);
                if (serverOpt != null) {
                    int stepNo = prevState == null ? 1 : prevState.step() + 1;
                    for (ServerStepAction.Output out : serverOpt.usesSecondMoment()
                            ? List.of(ServerStepAction.Output.M, ServerStepAction.Output.V) : List.of(ServerStepAction.Output.M)) {
                        List<TransformPlanner.Planned> sp = new ArrayList<>();
                        for (TensorInfo t : floats) {
                            sp.add(new TransformPlanner.Planned(t, o.serverOpt().name(), serverStep(slicesByTensor.get(t.name()), reference, prevState, serverOpt, t, out),
                                    "server state " + out.name().toLowerCase(), DType.F32));
                        }
                        String prefix = STATE + out.name().toLowerCase() + "/";
                        ShardPlan statePlan = WeightWriter.shardPlan(sp, o.maxShardBytes());
                        WeightWriter.write(jsc, conf, staged, prefix, statePlan, sp, Map.of("format", "pt", "weightlab.server_state", out.name().toLowerCase()));
                        WeightWriter.writeIndex(staged, prefix, statePlan);
                    }
                    staged.writeString(STATE + ServerState.FILE, ServerState.json(o.serverOpt().name(), stepNo, o.serverOpt().params(), manifest.round()));
                }
                Map<String, Object> report = report(manifest, o, aggregator, ids, problems, kept, weights, clip, norms, diag, floats, tensorRows, t0);
                @SuppressWarnings("unchecked") Map<String, Object> run = (Map<String, Object>) report.get("run");
                run.put("seconds_validate", (tValidated - t0) / 1e9);
                run.put("seconds_compute", (tComputed - tValidated) / 1e9);
                run.put("seconds_write", (System.nanoTime() - tComputed) / 1e9);
                run.put("heap_pool_peaks_mb_this_jvm", heapPoolPeaksMb());
                run.put("max_heap_mb_this_jvm", Runtime.getRuntime().maxMemory() / 1048576.0);
                try (FSDataOutputStream os = staged.create(REPORT)) {
                    Tables.writeJson(os, report);
                }
                try (FSDataOutputStream os = staged.create("tensors.csv")) {
                    Tables.writeCsv(os, tensorRows);
                }
                console.printf("[fedavg] %d of %d client(s) aggregated, %d dropped, %.1f s: %s%n", kept.size(), manifest.clients().size(),
                        problems.size(), (System.nanoTime() - t0) / 1e9, o.out());
                return report;
            });
        } finally {
            conf.destroy();
            clientsB.destroy();
            refB.destroy();
        }
    }

    private static ServerStepAction serverStep(StagedSliceAction slices, Checkpoint reference, ServerState prev, ServerOptimizer opt, TensorInfo t,
                                               ServerStepAction.Output out) {
        TensorInfo m = prev == null ? null : prev.m(t);
        TensorInfo v = prev == null || !opt.usesSecondMoment() ? null : prev.v(t);
        return new ServerStepAction(slices, reference.tensor(t.name()), m, v, opt, prev == null ? 1 : prev.step() + 1, out);
    }

    /** Peak use of each heap pool of this JVM (the driver; in local mode also every executor task), in MB. */
    static Map<String, Double> heapPoolPeaksMb() {
        Map<String, Double> out = new TreeMap<>();
        for (java.lang.management.MemoryPoolMXBean p : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == java.lang.management.MemoryType.HEAP) out.put(p.getName(), p.getPeakUsage().getUsed() / 1048576.0);
        }
        return out;
    }

    /** --bad-clients: fail the round (false) or drop bad clients (true). */
    static boolean dropsBadClients(Options o) {
        return switch (o.badClients()) {
            case "fail" -> false;
            case "drop" -> true;
            default -> throw new UsageException("--bad-clients must be fail or drop, got " + o.badClients());
        };
    }

    /** The report's row per manifest client: who was aggregated with which weight, who was dropped and why. */
    static List<Map<String, Object>> clientRows(RoundManifest m, Map<String, String> problems, List<String> keptIds, double[] weights) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ClientSpec c : m.clients()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", c.id());
            row.put("uri", c.uri());
            row.put("examples", c.examples());
            int i = keptIds.indexOf(c.id());
            row.put("status", i >= 0 ? "aggregated" : "dropped");
            row.put("reason", problems.get(c.id()));
            if (i >= 0) row.put("weight", weights[i]);
            rows.add(row);
        }
        return rows;
    }

    /** Fails the round with every reason, or checks that enough clients remain after dropping. */
    static void decide(Map<String, String> problems, boolean drop, RoundManifest m, int remaining, Options o, String when) {
        if (problems.isEmpty()) return;
        String sb = RoundManifest.problemList(problems);
        if (!drop) throw new UsageException(m.source() + ": the round fails " + when + " (--bad-clients fail):" + sb);
        int total = m.clients().size();
        if (remaining < Math.max(1, o.minClients()) || remaining < o.minFraction() * total) {
            throw new UsageException(m.source() + ": only " + remaining + " of " + total + " clients remain " + when + ", below --min-clients "
                    + o.minClients() + " / --min-fraction " + o.minFraction() + " (rule: MinClients):" + sb);
        }
    }

    /** Why a client cannot be averaged with the template (names, shapes, floating dtypes), or null. */
    static String mismatch(Checkpoint template, Checkpoint c) {
        if (c.tensors().size() != template.tensors().size()) {
            return "has " + c.tensors().size() + " tensors, the template " + template.tensors().size() + " (rule: SameTensors)";
        }
        for (TensorInfo t : template.tensors()) {
            TensorInfo x = c.tensor(t.name());
            if (x == null) return "lacks '" + t.name() + "' (rule: SameTensors)";
            if (!Arrays.equals(x.shape(), t.shape())) return "'" + t.name() + "' is " + x.shapeString() + ", the template's " + t.shapeString() + " (rule: SameShapes)";
            if (x.dtype().isFloatingPoint() != t.dtype().isFloatingPoint()) return "'" + t.name() + "' is " + x.dtype() + ", the template's " + t.dtype() + " (rule: SameDtypeKind)";
        }
        return null;
    }

    private static List<Unit> units(List<TensorInfo> tensors, int step) {
        List<Unit> out = new ArrayList<>();
        long unit = Math.max(step, 1L << 22);
        for (TensorInfo t : tensors) {
            for (long f = 0; f < t.elementCount(); f += unit) out.add(new Unit(t.name(), f, (int) Math.min(unit, t.elementCount() - f)));
        }
        return out;
    }

    /** Pass 1 result per tensor and client: NaN/Inf count, squared update norm, and (for the variance correction) the full moments. */
    static final class ClientMoments implements Serializable {
        final MomentAccumulator[] moments;
        final double[] updateSq;
        final long[] nonFinite;
        MomentAccumulator reference;

        ClientMoments(int k) {
            moments = new MomentAccumulator[k];
            for (int i = 0; i < k; i++) moments[i] = new MomentAccumulator();
            updateSq = new double[k];
            nonFinite = new long[k];
        }

        ClientMoments merge(ClientMoments o) {
            for (int i = 0; i < moments.length; i++) {
                moments[i].merge(o.moments[i]);
                updateSq[i] += o.updateSq[i];
                nonFinite[i] += o.nonFinite[i];
            }
            if (o.reference != null) reference = reference == null ? o.reference : reference.merge(o.reference);
            return this;
        }
    }

    private static ClientMoments clientMoments(Unit u, List<Checkpoint> clients, Checkpoint ref, boolean full, Configuration conf) {
        ClientMoments cm = new ClientMoments(clients.size());
        try (RangeReader reader = new RangeReader(conf)) {
            double[] r = null;
            if (ref != null) {
                r = TensorValues.read(reader, ref.tensor(u.tensor()), u.first(), u.first() + u.count(), null);
                if (full) {
                    cm.reference = new MomentAccumulator();
                    cm.reference.addBlock(r, 0, r.length);
                }
            }
            for (int k = 0; k < clients.size(); k++) {
                double[] x = TensorValues.read(reader, clients.get(k).tensor(u.tensor()), u.first(), u.first() + u.count(), null);
                if (full) {
                    cm.moments[k].addBlock(x, 0, x.length);
                    cm.nonFinite[k] = cm.moments[k].nonFiniteCount();
                } else {
                    long bad = 0;
                    for (double v : x) if (!Double.isFinite(v)) bad++;
                    cm.nonFinite[k] = bad;
                }
                if (r != null) {
                    double s = 0;
                    for (int i = 0; i < x.length; i++) {
                        double d = x[i] - r[i];
                        if (Double.isFinite(d)) s += d * d;
                    }
                    cm.updateSq[k] = s;
                }
            }
        }
        return cm;
    }

    /** One slice of the aggregate into its scratch file (raw float64 LE), with the slice's diagnostics. */
    private static TensorAggregation.Diagnostics computeSlice(Unit u, TensorAggregation a, String file, String marker, Configuration conf) throws IOException {
        TensorAggregation.Diagnostics d = new TensorAggregation.Diagnostics(a.clientCount());
        double[] y = new double[u.count()];
        try (RangeReader reader = new RangeReader(conf)) {
            a.compute(reader, u.first(), u.count(), y, d);
        }
        Path p = new Path(file);
        try (FSDataOutputStream os = p.getFileSystem(conf).create(p, true)) {
            io.weightlab.common.io.RawDoubles.write(os, y);
        }
        CompletionMarker.write(conf, marker, d, file);
        return d;
    }

    /**
     * The staged output of a round; with --resume, keyed by everything its bytes depend on: every client's files as
     * they are now, examples and weights, the reference, the server state and every aggregation option.
     */
    static StagedOutput begin(Configuration conf, RoundManifest m, Map<String, Checkpoint> ckpts, Checkpoint reference, ServerState state,
                              Options o, Object extra, PrintStream console) {
        String key = null;
        if (o.resume()) {
            ResumeKey k = ResumeKey.of(conf, "fedavg").add(m.round()).add(extra).checkpoint(reference);
            for (ClientSpec c : m.clients()) k.add(c).checkpoint(ckpts.get(c.id()));
            if (state != null) k.add(state.step()).checkpoint(state.m()).checkpoint(state.v());
            key = k.add(o.method()).add(o.methodParams() == null ? null : new TreeMap<>(o.methodParams())).add(o.weighting())
                    .add(o.varianceCorrection()).add(o.conservativeC()).add(o.eps()).add(o.relativeEps()).add(o.correctPattern())
                    .add(o.rejectAbove()).add(o.clip()).add(o.badClients()).add(o.minClients()).add(o.minFraction()).add(o.outDType())
                    .add(o.maxShardBytes()).add(o.memoryBudget()).add(o.serverOpt()).add(o.mergeInto()).hash();
        }
        StagedOutput staged = StagedOutput.begin(conf, o.out(), o.overwrite(), key);
        if (staged.isResumed()) console.printf("[fedavg] resuming the interrupted round in %s%n", o.out());
        return staged;
    }

    private static Map<String, Object> report(RoundManifest m, Options o, ElementAggregator agg, List<String> ids, Map<String, String> problems,
                                              List<Integer> kept, double[] weights, double[] clip, double[] norms,
                                              Map<String, TensorAggregation.Diagnostics> diag, List<TensorInfo> floats,
                                              List<Map<String, Object>> tensorRows, long t0) {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("job", "fedavg");
        run.put("round", m.round());
        run.put("manifest", m.source());
        run.put("reference", m.reference());
        run.put("method", agg.describe());
        run.put("weighting", agg.weighted() ? o.weighting() : "unweighted");
        run.put("variance_correction", o.varianceCorrection());
        run.put("bad_clients", o.badClients());
        run.put("reject_above", o.rejectAbove());
        run.put("clip", o.clip());
        run.put("seconds", (System.nanoTime() - t0) / 1e9);
        double meanUpdateSq = 0;
        double[] dots = new double[kept.size()], sq = new double[kept.size()];
        for (TensorAggregation.Diagnostics d : diag.values()) {
            meanUpdateSq += d.meanUpdateSq;
            for (int i = 0; i < kept.size(); i++) {
                dots[i] += d.dotWithMean[i];
                sq[i] += d.updateSq[i];
            }
        }
        List<String> keptIds = new ArrayList<>();
        for (int k : kept) keptIds.add(ids.get(k));
        List<Map<String, Object>> clients = clientRows(m, problems, keptIds, weights);
        for (Map<String, Object> row : clients) {
            int k = ids.indexOf((String) row.get("id"));
            int i = keptIds.indexOf((String) row.get("id"));
            if (k >= 0 && m.reference() != null) row.put("update_norm", norms[k]);
            if (i < 0) continue;
            if (clip != null) row.put("clip_factor", clip[i]);
            if (m.reference() != null && sq[i] > 0 && meanUpdateSq > 0) row.put("cosine_to_mean_update", dots[i] / Math.sqrt(sq[i] * meanUpdateSq));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run", run);
        out.put("clients", clients);
        out.put("tensors", tensorRows);
        return out;
    }
}
