package io.weightlab.jobs.federated;

import io.weightlab.common.commit.CompletionMarker;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.AggregatorRegistry;
import io.weightlab.common.fed.ClientMoments;
import io.weightlab.common.fed.ClientSelector;
import io.weightlab.common.fed.ClientSet;
import io.weightlab.common.fed.PairwiseDistances;
import io.weightlab.common.fed.ClientSpec;
import io.weightlab.common.fed.ElementAggregator;
import io.weightlab.common.fed.GaussianNoise;
import io.weightlab.common.fed.PrivacyLedger;
import io.weightlab.common.fed.RobustPolicy;
import io.weightlab.common.fed.ServerOptimizer;
import io.weightlab.common.fed.ServerOptimizerRegistry;
import io.weightlab.common.fed.ServerStepAction;
import io.weightlab.common.fed.StagedSliceAction;
import io.weightlab.common.fed.TensorAggregation;
import io.weightlab.common.fed.VarianceCorrection;
import io.weightlab.common.fed.Weighting;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.RawDoubles;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorSelector;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.report.Tables;
import io.weightlab.common.transform.EncodedSlicesAction;
import io.weightlab.common.transform.KeepAction;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.TransformPlanner;
import io.weightlab.jobs.spark.ModelWriter;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.io.IOException;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One round over full checkpoints. {@link #validateHeaders} (driver, headers only) checks every client against the
 * template; {@link #momentsPass} (executors) streams every client once for its moments, NaN/Inf counts and update
 * norm; {@link #screenValues} drops or fails by policy, weights the survivors and derives clipping;
 * {@link #aggregatePass} computes the aggregate slice by slice in parallel (ranged reads of every client, float64 into
 * scratch) with its drift diagnostics; {@link #correctionPass} derives the variance correction from whole-tensor
 * moments; {@link #writeModel} writes the new global model through the shard writer from those slices, corrected;
 * {@link #writeServerState} the optimiser's state; {@link #writeReport} the report. Memory per task: K x step doubles
 * with step = budget / K, whatever K is. When nothing needs the update norms before averaging, the two passes are one
 * ({@link #validateWhileAggregating}): every client is read once, and again only if screening drops one.
 */
final class FullCheckpointRound {
    /** Elements [first, first + count) of one tensor: the unit of work of both passes. */
    private record Unit(String tensor, long first, int count) implements Serializable {}

    /**
     * Where a slice of the aggregate goes: its scratch file, encoded in the output dtype when nothing changes the
     * aggregate after the pass (no variance correction, no server step: the writer then copies the bytes), else
     * float64 ({@code encodeAs} null); and the completion marker a --resume run looks for.
     */
    private record SliceFile(String file, String marker, DType encodeAs) implements Serializable {
        long length(int count) {
            return encodeAs == null ? 8L * count : encodeAs.byteLength(count);
        }
    }

    private final RoundInputs in;
    private final FedAvgJob.Options o;
    private final ElementAggregator aggregator;
    private final VarianceCorrection vc;
    private final RobustPolicy robust;
    private final Checkpoint reference;
    private final ServerOptimizer serverOpt;
    private final ServerState prevState;
    /** --dp gaussian: the checked options and the ledger (budget enforced before any client is read), or null. */
    private final PrivateRound privacy;
    private GaussianNoise noise;
    /** With a client selector (krum, multi-krum, bulyan, rfa): the valid clients it chose from, and its report. */
    private List<Integer> candidates;
    private Map<String, Object> selection;

    private ClientSet clients;
    private List<String> ids;
    private List<TensorInfo> floats;
    /** --correct as a selector, or null for 2-D weights (or no correction). */
    private TensorSelector correct;
    private int step;
    private List<Unit> units;
    private Map<String, ClientMoments> moments;
    private double[] norms;
    private List<Integer> kept;
    private double[] weights;
    private double[] clip;
    private Map<String, TensorAggregation> actions;
    private final List<Tuple2<Unit, SliceFile>> sliceFiles = new ArrayList<>();
    private final Map<String, TensorAggregation.Diagnostics> diagnostics = new TreeMap<>();
    private final List<Map<String, Object>> tensorRows = new ArrayList<>();
    private final Map<String, double[]> corrections = new LinkedHashMap<>();
    private long tValidated;
    private long tComputed;
    /** A one-read round that had to aggregate again without a client it dropped. */
    private boolean repaired;

    /** The round's methods and policies from the options, the reference and the server state; usage errors before any client is read. */
    private FullCheckpointRound(RoundInputs in) {
        this.in = in;
        this.o = in.options;
        if (o.mergeInto() != null) throw new UsageException("--merge-into applies to LoRA rounds (fedit, ffa, stack, svd, lora-fair)");
        aggregator = AggregatorRegistry.create(o.method(), new MethodParams(o.method(), o.methodParams() == null ? Map.of() : o.methodParams(), f -> null));
        vc = o.varianceCorrection() == null ? null : VarianceCorrection.parse(o.varianceCorrection(), o.conservativeC(), o.eps(), o.relativeEps());
        privacy = PrivateRound.of(o, in.hconf);
        robust = new RobustPolicy(o.rejectAbove(), privacy != null ? privacy.clip() : o.clip());
        reference = in.manifest.reference() == null ? null : CheckpointCatalog.open(in.hconf, in.manifest.reference());
        if ((robust.needsNorms() || (vc != null && vc.selfWeight() > 0) || o.serverOpt() != null) && reference == null) {
            throw new UsageException(in.manifest.source() + ": clipping, outlier rejection, the conservative correction and server optimisers need 'reference'"
                    + " (the previous global model)");
        }
        serverOpt = o.serverOpt() == null ? null : ServerOptimizerRegistry.create(o.serverOpt().name(), o.serverOpt().params());
        prevState = o.serverOpt() == null || o.serverOpt().stateIn() == null ? null : ServerState.read(in.hconf, o.serverOpt().stateIn(), o.serverOpt().name());
    }

    static Map<String, Object> run(RoundInputs in) {
        FullCheckpointRound round = new FullCheckpointRound(in);
        in.console.printf("[fedavg] round %s: %d client(s), %s%n", in.manifest.round(), in.manifest.clients().size(), round.aggregator.describe());
        round.validateHeaders();
        if (round.oneRead()) {
            StagedOutput staged = in.stage(round.clients.clients(), round.reference, round.prevState, null);
            return in.run.commitAfter("the round", () -> {
                round.validateWhileAggregating(staged);
                round.screenValues();
                if (round.kept.size() < round.ids.size()) round.aggregateWithoutDropped(staged);
                round.correctionPass();
                Map<String, StagedSliceAction> slices = round.writeModel(staged);
                round.writeServerState(staged, slices);
                return round.writeReport(staged);
            });
        }
        round.momentsPass();
        round.screenValues();
        StagedOutput staged = in.stage(round.clients.clients(), round.reference, round.prevState, null);
        return in.run.commitAfter("the round", () -> {
            round.aggregatePass(staged);
            round.correctionPass();
            Map<String, StagedSliceAction> slices = round.writeModel(staged);
            round.writeServerState(staged, slices);
            return round.writeReport(staged);
        });
    }

    /** Driver, headers only: every client against the template; --correct must select a tensor before any value is read. */
    private void validateHeaders() {
        clients = ClientSet.open(in.hconf, reference, aggregator.weighted() && o.weighting() == Weighting.EXAMPLES, in.validation);
        in.validation.decide(clients.clients().size(), "before reading values");
        ids = clients.ids();
        floats = new ArrayList<>();
        for (TensorInfo t : clients.template().tensors()) if (t.dtype().isFloatingPoint()) floats.add(t);
        correct = vc == null ? null : VarianceCorrection.selection(o.correctPattern(), floats.stream().map(TensorInfo::name).toList());
        step = (int) Math.max(4096, Math.min(1 << 20, o.memoryBudget() / (8L * (ids.size() + 3))));
        units = units(floats, step);
    }

    /**
     * Whether every client can be read once: nothing has to see the round's update norms before averaging (no
     * clipping, outlier rejection, DP or client selection) and no slices of a killed run are to be kept (--resume
     * keeps aggregated slices, whose validation it could not redo). Else validation and aggregation are two passes.
     */
    private boolean oneRead() {
        return !robust.needsNorms() && privacy == null && !(aggregator instanceof ClientSelector) && !o.resume();
    }

    /**
     * The one-read round: every client's values are validated (NaN/Inf, update norms, the moments the variance
     * correction needs) in the pass that aggregates them with every client's weight. If screening then drops a client,
     * {@link #aggregateWithoutDropped} recomputes the aggregate without it, so result and report are the two-pass
     * round's either way.
     */
    private void validateWhileAggregating(StagedOutput staged) {
        kept = new ArrayList<>();
        List<ClientSpec> specs = new ArrayList<>();
        for (int k = 0; k < ids.size(); k++) {
            kept.add(k);
            specs.add(in.manifest.client(ids.get(k)));
        }
        weights = (aggregator.weighted() ? o.weighting() : Weighting.UNIFORM).weights(specs);
        clip = null;
        buildActions();
        Broadcast<Map<String, TensorAggregation>> actB = in.jsc.broadcast(actions);
        boolean fullMoments = vc != null;
        var conf = in.conf();
        List<Tuple2<Unit, SliceFile>> work = new ArrayList<>();
        for (int i = 0; i < units.size(); i++) work.add(new Tuple2<>(units.get(i), sliceFile(staged, i, units.get(i))));
        sliceFiles.addAll(work);
        Map<String, ReadOnce> parts = byTensor(units, in.balanced(work, w -> w._1().count())
                .map(w -> new Tuple2<>(w._1(), readOnce(w._1(), actB.value().get(w._1().tensor()), fullMoments, w._2(), conf.value().get())))
                .collect(), ReadOnce::merge);
        actB.destroy();
        moments = new TreeMap<>();
        parts.forEach((t, p) -> {
            moments.put(t, p.moments);
            diagnostics.put(t, p.diagnostics);
        });
        tValidated = System.nanoTime();
        tComputed = tValidated;
    }

    /** What one slice of the one-read pass returns: its clients' validation and the aggregate's diagnostics. */
    private record ReadOnce(ClientMoments moments, TensorAggregation.Diagnostics diagnostics) implements Serializable {
        ReadOnce merge(ReadOnce o) {
            return new ReadOnce(moments.merge(o.moments), diagnostics.merge(o.diagnostics));
        }
    }

    private static ReadOnce readOnce(Unit u, TensorAggregation a, boolean fullMoments, SliceFile file, Configuration conf) throws IOException {
        TensorAggregation.Diagnostics d = new TensorAggregation.Diagnostics(a.clientCount());
        ClientMoments seen = new ClientMoments(a.clientCount());
        double[] y = new double[u.count()];
        try (RangeReader reader = new RangeReader(conf)) {
            a.compute(reader, u.first(), u.count(), y, d, seen, fullMoments);
        }
        writeScratch(y, file, conf);
        return new ReadOnce(seen, d);
    }

    /** The bounded repair of a one-read round that dropped a client: the aggregate again, over the survivors only. */
    private void aggregateWithoutDropped(StagedOutput staged) {
        in.console.printf("[fedavg] %d client(s) dropped after the one-read pass: aggregating the %d others again%n", ids.size() - kept.size(), kept.size());
        sliceFiles.clear();
        diagnostics.clear();
        repaired = true;
        aggregatePass(staged);
    }

    /** Executors: NaN/Inf and update norms of every client; the full moments only when the variance correction needs them. */
    private void momentsPass() {
        var conf = in.conf();
        Broadcast<List<Checkpoint>> clientsB = in.broadcast(clients.checkpoints());
        Broadcast<Checkpoint> refB = in.broadcast(reference);
        boolean fullMoments = vc != null;
        moments = byTensor(units, in.balanced(units, Unit::count)
                .map(u -> new Tuple2<>(u, readMoments(u, clientsB.value(), refB.value(), fullMoments, conf.value().get())))
                .collect(), ClientMoments::merge);
        tValidated = System.nanoTime();
    }

    private static ClientMoments readMoments(Unit u, List<Checkpoint> clients, Checkpoint ref, boolean full, Configuration conf) {
        try (RangeReader reader = new RangeReader(conf)) {
            return ClientMoments.read(reader, u.tensor(), u.first(), u.count(), clients, ref, full);
        }
    }

    /** Driver: NaN/Inf and outliers by policy; the survivors' weights, clip factors and per-tensor aggregations. */
    private void screenValues() {
        norms = ClientMoments.updateNorms(moments, ids.size());
        in.validation.rejectNonFinite(ids, clients.checkpoints(), moments);
        in.validation.rejectOutliers(ids, norms, robust);
        in.validation.decide(in.validation.survivors(ids).size(), "after reading values");

        kept = new ArrayList<>();
        for (int k = 0; k < ids.size(); k++) if (!in.validation.isRejected(ids.get(k))) kept.add(k);
        List<ClientSpec> keptSpecs = new ArrayList<>();
        for (int k : kept) keptSpecs.add(in.manifest.client(ids.get(k)));
        weights = (aggregator.weighted() ? o.weighting() : Weighting.UNIFORM).weights(keptSpecs);
        double[] keptNorms = new double[kept.size()];
        for (int i = 0; i < kept.size(); i++) keptNorms[i] = norms[kept.get(i)];
        if (privacy != null) privacy.observe(keptNorms, in.manifest.round());
        clip = robust.clipFactors(keptNorms);
        if (aggregator instanceof ClientSelector selector) select(selector);
        noise = privacy == null ? null : privacy.noise(kept.size(), in.manifest.round());
        buildActions();
    }

    /** Per floating-point tensor, its aggregation over the kept clients with their weights and clip factors. */
    private void buildActions() {
        List<Checkpoint> checkpoints = clients.checkpoints();
        actions = new LinkedHashMap<>();
        for (TensorInfo t : floats) {
            List<TensorInfo> ts = new ArrayList<>();
            for (int k : kept) ts.add(checkpoints.get(k).tensor(t.name()));
            actions.put(t.name(), new TensorAggregation(ts, weights, clip, reference == null ? null : reference.tensor(t.name()), aggregator,
                    vc == null ? 0 : vc.selfWeight(), step));
        }
    }

    /**
     * Krum, Multi-Krum, Bulyan, the geometric median: the K x K squared distances between the valid clients over every
     * floating-point tensor in one distributed pass (the parameters as sent, before --clip), then the choice on the
     * driver; {@code kept}, the weights and the clip factors shrink to the chosen clients.
     */
    private void select(ClientSelector selector) {
        List<Checkpoint> checkpoints = clients.checkpoints();
        Broadcast<List<Checkpoint>> clientsB = in.broadcast(checkpoints);
        List<Integer> valid = List.copyOf(kept);
        int k = valid.size(), st = step;
        var conf = in.conf();
        double[][] d = in.balanced(units, Unit::count)
                .map(u -> {
                    double[][] part = new double[k][k];
                    List<TensorInfo> ts = new ArrayList<>();
                    for (int c : valid) ts.add(clientsB.value().get(c).tensor(u.tensor()));
                    try (RangeReader reader = new RangeReader(conf.value().get())) {
                        PairwiseDistances.accumulate(reader, ts, u.first(), u.count(), st, part);
                    }
                    return part;
                })
                .reduce(PairwiseDistances::sum);
        ClientSelector.Selection sel = selector.select(d, weights);
        candidates = valid;
        kept = new ArrayList<>();
        double[] keptClip = clip == null ? null : new double[sel.clients().length];
        for (int i = 0; i < sel.clients().length; i++) {
            kept.add(valid.get(sel.clients()[i]));
            if (clip != null) keptClip[i] = clip[sel.clients()[i]];
        }
        clip = keptClip;
        weights = sel.weights();
        selection = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : sel.report().entrySet()) selection.put(e.getKey(), byClient(e.getValue(), valid));
        in.console.printf("[fedavg] %s chose %d of %d client(s)%n", aggregator.describe(), kept.size(), k);
    }

    /** A selector's per-client numbers (double[K]) as id → value, and client indices (List<Integer>) as ids. */
    private Object byClient(Object v, List<Integer> valid) {
        if (v instanceof double[] a && a.length == valid.size()) {
            Map<String, Double> m = new LinkedHashMap<>();
            for (int i = 0; i < a.length; i++) m.put(ids.get(valid.get(i)), a[i]);
            return m;
        }
        if (v instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof Integer) {
            List<String> out = new ArrayList<>();
            for (Object i : l) out.add(ids.get(valid.get((Integer) i)));
            return out;
        }
        return v;
    }

    /**
     * Executors, in parallel over slices: the aggregate (float64, to scratch) and the drift diagnostics. A --resume run
     * keeps the slices the dead run completed, with their diagnostics.
     */
    private void aggregatePass(StagedOutput staged) {
        List<Tuple2<Unit, SliceFile>> todo = new ArrayList<>();
        for (int i = 0; i < units.size(); i++) {
            Unit u = units.get(i);
            SliceFile f = sliceFile(staged, i, u);
            sliceFiles.add(new Tuple2<>(u, f));
            TensorAggregation.Diagnostics done = CompletionMarker.read(staged, scratchName(i, f.encodeAs()), TensorAggregation.Diagnostics.class, f.length(u.count()));
            if (done != null) diagnostics.merge(u.tensor(), done, TensorAggregation.Diagnostics::merge);
            else todo.add(new Tuple2<>(u, f));
        }
        if (todo.size() < sliceFiles.size()) {
            in.console.printf("[fedavg] resuming: %d of %d slice(s) were aggregated by the previous run%n", sliceFiles.size() - todo.size(), sliceFiles.size());
        }
        // Not a round-long broadcast: the actions hold every client's tensor list, freed as soon as the pass ends.
        Broadcast<Map<String, TensorAggregation>> actB = in.jsc.broadcast(actions);
        var conf = in.conf();
        GaussianNoise dpNoise = noise;
        if (!todo.isEmpty()) {
            byTensor(units, in.balanced(todo, w -> w._1().count())
                    .map(w -> new Tuple2<>(w._1(), computeSlice(w._1(), actB.value().get(w._1().tensor()), dpNoise, w._2(), conf.value().get())))
                    .collect(), TensorAggregation.Diagnostics::merge)
                    .forEach((k, v) -> diagnostics.merge(k, v, TensorAggregation.Diagnostics::merge));
        }
        actB.destroy();
        tComputed = System.nanoTime();
    }

    /**
     * One slice of the aggregate into its scratch file, with the slice's diagnostics (of the aggregate before the DP
     * noise, which is added last when asked).
     */
    private static TensorAggregation.Diagnostics computeSlice(Unit u, TensorAggregation a, GaussianNoise noise, SliceFile file,
                                                              Configuration conf) throws IOException {
        TensorAggregation.Diagnostics d = new TensorAggregation.Diagnostics(a.clientCount());
        double[] y = new double[u.count()];
        try (RangeReader reader = new RangeReader(conf)) {
            a.compute(reader, u.first(), u.count(), y, d);
        }
        if (noise != null) noise.addTo(u.tensor(), u.first(), u.count(), y);
        writeScratch(y, file, conf);
        CompletionMarker.write(conf, file.marker(), d, file.file());
        return d;
    }

    private static void writeScratch(double[] y, SliceFile file, Configuration conf) throws IOException {
        Path p = new Path(file.file());
        try (FSDataOutputStream os = p.getFileSystem(conf).create(p, true)) {
            if (file.encodeAs() == null) RawDoubles.write(os, y);
            else EncodedSlicesAction.write(os, file.encodeAs(), y);
        }
    }

    /** Slice i's scratch file: encoded in the output dtype when nothing changes the aggregate after the pass. */
    private SliceFile sliceFile(StagedOutput staged, int i, Unit u) {
        DType out = outDType(clients.template().tensor(u.tensor()));
        DType encodeAs = vc == null && serverOpt == null && ElementEncoder.canEncode(out) ? out : null;
        String rel = scratchName(i, encodeAs);
        return new SliceFile(staged.stagedFile(rel).toString(), staged.completionMarker(rel).toString(), encodeAs);
    }

    private static String scratchName(int i, DType encodeAs) {
        return StagedOutput.SCRATCH + "agg/" + i + "." + (encodeAs == null ? "f64" : encodeAs.name().toLowerCase());
    }

    private DType outDType(TensorInfo t) {
        return o.outDType() != null ? o.outDType() : t.dtype();
    }

    /** Driver: per tensor the spread and update rows; the variance correction (mean, scale) from whole-tensor moments. */
    private void correctionPass() {
        for (TensorInfo t : floats) {
            TensorAggregation.Diagnostics d = diagnostics.get(t.name());
            ClientMoments cm = moments.get(t.name());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", t.name());
            row.put("elements", t.elementCount());
            row.put("client_spread", d.spread / t.elementCount());
            if (reference != null) row.put("mean_update_norm", Math.sqrt(d.meanUpdateSq));
            if (vc != null && !VarianceCorrection.skipped(t.name()) && t.elementCount() > 1
                    && (correct == null ? t.rank() == 2 : correct.matches(t.name()))) {
                double[] vars = new double[kept.size()];
                for (int i = 0; i < kept.size(); i++) vars[i] = cm.moments(kept.get(i)).varianceSample();
                double target = vc.target(vars, cm.reference() == null ? 0 : cm.reference().varianceSample());
                double current = d.output.varianceSample();
                double scale = vc.scale(target, current);
                corrections.put(t.name(), new double[] {d.output.mean(), scale});
                row.put("variance_before", current);
                row.put("variance_target", target);
                row.put("correction_scale", scale);
            }
            tensorRows.add(row);
        }
    }

    /**
     * One task per shard: the computed slices, corrected (and stepped by the server optimiser) and encoded, assembled
     * into model/; non-floating tensors are copied from the template. Returns each tensor's slices for the state.
     */
    private Map<String, StagedSliceAction> writeModel(StagedOutput staged) throws IOException {
        Map<String, List<Tuple2<Unit, SliceFile>>> slicesOf = new LinkedHashMap<>();
        Map<String, StagedSliceAction> slicesByTensor = new LinkedHashMap<>();
        for (Tuple2<Unit, SliceFile> w : sliceFiles) slicesOf.computeIfAbsent(w._1().tensor(), x -> new ArrayList<>()).add(w);
        DType outDType = o.outDType();
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        for (TensorInfo t : clients.template().tensors()) {
            TensorAggregation a = actions.get(t.name());
            if (a == null) {
                plans.add(new TransformPlanner.Planned(t, null, KeepAction.INSTANCE, "not floating point: copied from the template", t.dtype()));
                continue;
            }
            List<Tuple2<Unit, SliceFile>> sl = slicesOf.get(t.name());
            String[] files = new String[sl.size()];
            long[] firsts = new long[sl.size()];
            int[] counts = new int[sl.size()];
            for (int i = 0; i < sl.size(); i++) {
                files[i] = sl.get(i)._2().file();
                firsts[i] = sl.get(i)._1().first();
                counts[i] = sl.get(i)._1().count();
            }
            DType encoded = sl.get(0)._2().encodeAs();
            if (encoded != null) {
                plans.add(new TransformPlanner.Planned(t, "fedavg", new EncodedSlicesAction(encoded, files, firsts, counts, a.describe()), a.describe(), outDType(t)));
                continue;
            }
            double[] c = corrections.getOrDefault(t.name(), new double[] {0, 1});
            StagedSliceAction slices = new StagedSliceAction(files, firsts, counts, c[0], c[1], a.describe());
            slicesByTensor.put(t.name(), slices);
            TransformPlanner.Planned pl = serverOpt == null
                    ? new TransformPlanner.Planned(t, "fedavg", slices, a.describe(), outDType != null ? outDType : t.dtype())
                    : new TransformPlanner.Planned(t, "fedavg+" + o.serverOpt().name(), serverStep(slices, t, ServerStepAction.Output.MODEL),
                    a.describe() + ", then " + serverOpt.describe(), outDType != null ? outDType : t.dtype());
            plans.add(pl);
        }
        Map<String, String> md = new TreeMap<>(ModelWriter.jobMetadata("fedavg"));
        md.put("weightlab.round", String.valueOf(in.manifest.round()));
        ModelWriter.write(in.run, ModelWriter.Model.of(FedAvgJob.MODEL, plans, o.maxShardBytes(), md, clients.template().root(), outDType, null));
        return slicesByTensor;
    }

    /**
     * server_state/: with --dp the privacy ledger (privacy.json); with a server optimiser its moments m (and v) as
     * float32 checkpoints and state.json.
     */
    private void writeServerState(StagedOutput staged, Map<String, StagedSliceAction> slicesByTensor) throws IOException {
        if (privacy != null) staged.writeString(FedAvgJob.STATE + PrivacyLedger.FILE, privacy.ledgerJson(in.manifest.round()));
        if (serverOpt == null) return;
        int stepNo = prevState == null ? 1 : prevState.step() + 1;
        for (ServerStepAction.Output out : serverOpt.usesSecondMoment()
                ? List.of(ServerStepAction.Output.M, ServerStepAction.Output.V) : List.of(ServerStepAction.Output.M)) {
            List<TransformPlanner.Planned> sp = new ArrayList<>();
            for (TensorInfo t : floats) {
                sp.add(new TransformPlanner.Planned(t, o.serverOpt().name(), serverStep(slicesByTensor.get(t.name()), t, out),
                        "server state " + out.name().toLowerCase(), DType.F32));
            }
            String prefix = FedAvgJob.STATE + out.name().toLowerCase() + "/";
            ModelWriter.write(in.run, ModelWriter.Model.of(prefix, sp, o.maxShardBytes(),
                    Map.of("format", "pt", "weightlab.server_state", out.name().toLowerCase()), null, null, null));
        }
        staged.writeString(FedAvgJob.STATE + ServerState.FILE, ServerState.json(o.serverOpt().name(), stepNo, o.serverOpt().params(), in.manifest.round()));
    }

    private ServerStepAction serverStep(StagedSliceAction slices, TensorInfo t, ServerStepAction.Output out) {
        TensorInfo m = prevState == null ? null : prevState.m(t);
        TensorInfo v = prevState == null || !serverOpt.usesSecondMoment() ? null : prevState.v(t);
        return new ServerStepAction(slices, reference.tensor(t.name()), m, v, serverOpt, prevState == null ? 1 : prevState.step() + 1, out);
    }

    /** round_report.json (run facts with the time of each phase, clients, tensors) and tensors.csv. */
    private Map<String, Object> writeReport(StagedOutput staged) throws IOException {
        Map<String, Object> report = report();
        @SuppressWarnings("unchecked") Map<String, Object> run = (Map<String, Object>) report.get("run");
        run.put("seconds_validate", (tValidated - in.startNanos) / 1e9);
        run.put("seconds_compute", (tComputed - tValidated) / 1e9);
        run.put("seconds_write", (System.nanoTime() - tComputed) / 1e9);
        run.put("client_reads", oneRead() && !repaired ? 1 : 2);
        run.put("heap_pool_peaks_mb_this_jvm", heapPoolPeaksMb());
        run.put("max_heap_mb_this_jvm", Runtime.getRuntime().maxMemory() / 1048576.0);
        try (FSDataOutputStream os = staged.create(FedAvgJob.REPORT)) {
            Tables.writeJson(os, report);
        }
        try (FSDataOutputStream os = staged.create("tensors.csv")) {
            Tables.writeCsv(os, tensorRows);
        }
        List<Map<String, Object>> dpRounds = privacy == null ? null : privacy.roundsAfter(in.manifest.round());
        staged.writeString(FedAvgJob.PAGE, io.weightlab.common.report.FedRoundReport.render(report, dpRounds));
        in.console.printf("[fedavg] %d of %d client(s) aggregated, %d dropped, %.1f s: %s%n", kept.size(), in.manifest.clients().size(),
                in.validation.problems().size(), in.secondsSinceStart(), o.out());
        return report;
    }

    private Map<String, Object> report() {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("job", "fedavg");
        run.put("round", in.manifest.round());
        run.put("manifest", in.manifest.source());
        run.put("reference", in.manifest.reference());
        run.put("method", aggregator.describe());
        run.put("weighting", aggregator.weighted() ? o.weighting().spelling() : "unweighted");
        run.put("variance_correction", o.varianceCorrection());
        run.put("bad_clients", o.badClients().spelling());
        run.put("reject_above", o.rejectAbove());
        run.put("clip", o.clip());
        if (privacy != null) run.put("dp", privacy.report());
        if (selection != null) run.put("selection", selection);
        run.put("seconds", in.secondsSinceStart());
        double meanUpdateSq = 0;
        double[] spreads = new double[kept.size()], sq = new double[kept.size()];
        for (TensorAggregation.Diagnostics d : diagnostics.values()) {
            meanUpdateSq += d.meanUpdateSq;
            for (int i = 0; i < kept.size(); i++) {
                spreads[i] += d.clientSpread[i];
                sq[i] += d.updateSq[i];
            }
        }
        List<String> keptIds = new ArrayList<>();
        for (int k : kept) keptIds.add(ids.get(k));
        List<Map<String, Object>> clientRows = in.clientRows(keptIds, weights);
        for (Map<String, Object> row : clientRows) {
            int k = ids.indexOf((String) row.get("id"));
            int i = keptIds.indexOf((String) row.get("id"));
            if (k >= 0 && in.manifest.reference() != null) row.put("update_norm", norms[k]);
            if (i < 0 && candidates != null && k >= 0 && candidates.contains(k)) {
                row.put("status", "not_selected");
                row.put("reason", aggregator.describe() + " did not choose it");
            }
            if (i < 0) continue;
            if (clip != null) row.put("clip_factor", clip[i]);
            if (in.manifest.reference() != null && sq[i] > 0 && meanUpdateSq > 0) row.put("cosine_to_mean_update", TensorAggregation.Diagnostics.cosineToMean(sq[i], meanUpdateSq, spreads[i]));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run", run);
        out.put("clients", clientRows);
        out.put("tensors", tensorRows);
        return out;
    }

    /** Peak use of each heap pool of this JVM (the driver; in local mode also every executor task), in MB. */
    private static Map<String, Double> heapPoolPeaksMb() {
        Map<String, Double> out = new TreeMap<>();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) out.put(p.getName(), p.getPeakUsage().getUsed() / 1048576.0);
        }
        return out;
    }

    /**
     * The units' results merged per tensor on the driver, in unit order: the same sums whatever task ran which unit
     * (a shuffle's reduce merged in arrival order), and no shuffle stage. Results are per-client sums, K numbers a unit.
     */
    private static <R> Map<String, R> byTensor(List<Unit> order, List<Tuple2<Unit, R>> results, java.util.function.BinaryOperator<R> merge) {
        Map<Unit, R> byUnit = new java.util.HashMap<>();
        for (Tuple2<Unit, R> r : results) byUnit.put(r._1(), r._2());
        Map<String, R> out = new TreeMap<>();
        for (Unit u : order) {
            R r = byUnit.get(u);
            if (r != null) out.merge(u.tensor(), r, merge);
        }
        return out;
    }

    private static List<Unit> units(List<TensorInfo> tensors, int step) {
        List<Unit> out = new ArrayList<>();
        long unit = Math.max(step, 1L << 22);
        for (TensorInfo t : tensors) {
            for (long f = 0; f < t.elementCount(); f += unit) out.add(new Unit(t.name(), f, (int) Math.min(unit, t.elementCount() - f)));
        }
        return out;
    }
}
