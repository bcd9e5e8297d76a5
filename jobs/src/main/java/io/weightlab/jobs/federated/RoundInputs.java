package io.weightlab.jobs.federated;

import io.weightlab.common.commit.ResumeKey;
import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.fed.ClientSpec;
import io.weightlab.common.fed.ClientValidation;
import io.weightlab.common.fed.RoundManifest;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.jobs.spark.JobRun;
import io.weightlab.jobs.spark.SerializableConfiguration;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What every round shares, created once by the dispatcher: the options, the manifest, the clients' validation, the
 * job skeleton ({@link JobRun}: Spark context, broadcast configuration, staged output with its resume key and its
 * one commit path, interrupts, progress, console, start time) and the round's own broadcasts (destroyed on close).
 * The round kinds read their inputs from here and add their own passes.
 */
final class RoundInputs implements AutoCloseable {
    final FedAvgJob.Options options;
    final RoundManifest manifest;
    final ClientValidation validation;
    final JobRun run;
    final JavaSparkContext jsc;
    final Configuration hconf;
    final PrintStream console;
    final long startNanos;
    private final List<Broadcast<?>> broadcasts = new ArrayList<>();

    private RoundInputs(FedAvgJob.Options options, RoundManifest manifest, JobRun run, PrintStream console, long startNanos) {
        this.options = options;
        this.manifest = manifest;
        this.validation = new ClientValidation(manifest, new ClientValidation.Policy(options.badClients(), options.minClients(), options.minFraction()));
        this.run = run;
        this.jsc = run.jsc();
        this.hconf = run.hadoop();
        this.console = console;
        this.startNanos = startNanos;
    }

    /** The round's manifest (--manifest, or discovered under --clients-prefix) and everything shared around it. */
    static RoundInputs read(SparkContext sc, FedAvgJob.Options o, PrintStream console, long startNanos) {
        JobRun run = JobRun.start("fedavg", sc, console);
        try {
            Configuration hconf = run.hadoop();
            RoundManifest manifest = o.manifest() != null ? RoundManifests.read(hconf, o.manifest()) : RoundManifests.discover(hconf, o.clientsPrefix());
            return new RoundInputs(o, manifest, run, console, startNanos);
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
    }

    /** The Hadoop configuration for executors (the skeleton's broadcast). */
    Broadcast<SerializableConfiguration> conf() {
        return run.conf();
    }

    /** A broadcast that lives until the round ends. */
    <T> Broadcast<T> broadcast(T value) {
        Broadcast<T> b = jsc.broadcast(value);
        broadcasts.add(b);
        return b;
    }

    /** Partitions for n independent tasks: at most four per core. */
    int partitions(int tasks) {
        return Math.max(1, Math.min(tasks, 4 * jsc.defaultParallelism()));
    }

    /**
     * The work units as an RDD of a few tasks per core, each a set of units of about the same total size (LPT by
     * {@code size}), the largest first. Spark's own slicing of the list cuts it into runs of as many units each:
     * with whole embeddings beside norms that left two of eight tasks with twice the values of the rest.
     */
    <T> org.apache.spark.api.java.JavaRDD<T> balanced(List<T> units, java.util.function.ToLongFunction<T> size) {
        List<List<T>> tasks = io.weightlab.jobs.spark.WorkPacker.packByCount(units, size, jsc.defaultParallelism());
        return jsc.parallelize(tasks, Math.max(1, tasks.size())).flatMap(List::iterator);
    }

    double secondsSinceStart() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /**
     * The staged output of the round; with --resume, keyed by everything its bytes depend on: every client's files as
     * they are now, examples and weights, the reference, the server state, {@code extra} and every aggregation option.
     */
    StagedOutput stage(Map<String, Checkpoint> clients, Checkpoint reference, ServerState state, Object extra) {
        FedAvgJob.Options o = options;
        String key = null;
        if (o.resume()) {
            ResumeKey k = ResumeKey.of(hconf, "fedavg").add(manifest.round()).add(extra).checkpoint(reference);
            for (ClientSpec c : manifest.clients()) k.add(c).checkpoint(clients.get(c.id()));
            if (state != null) k.add(state.step()).checkpoint(state.m()).checkpoint(state.v());
            key = k.add(o.method()).add(o.methodParams() == null ? null : new TreeMap<>(o.methodParams())).add(o.weighting().spelling())
                    .add(o.varianceCorrection()).add(o.conservativeC()).add(o.eps()).add(o.relativeEps()).add(o.correctPattern())
                    .add(o.rejectAbove()).add(o.clip()).add(o.badClients().spelling()).add(o.minClients()).add(o.minFraction()).add(o.outDType())
                    .add(o.maxShardBytes()).add(o.memoryBudget()).add(o.serverOpt()).add(o.mergeInto()).add(o.dp()).hash();
        }
        return run.output(o.out(), JobRun.Output.REQUIRED, FedAvgJob.OUT_WHAT, o.overwrite(), key);
    }

    /** The report's row per manifest client: who was aggregated with which weight, who was dropped and why. */
    List<Map<String, Object>> clientRows(List<String> keptIds, double[] weights) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ClientSpec c : manifest.clients()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", c.id());
            row.put("uri", c.uri());
            row.put("examples", c.examples());
            int i = keptIds.indexOf(c.id());
            row.put("status", i >= 0 ? "aggregated" : "dropped");
            row.put("reason", validation.problems().get(c.id()));
            if (i >= 0) row.put("weight", weights[i]);
            rows.add(row);
        }
        return rows;
    }

    /** Ends the round's broadcasts, whether it committed or failed. */
    @Override
    public void close() {
        for (Broadcast<?> b : broadcasts) b.destroy();
        run.close();
    }
}
