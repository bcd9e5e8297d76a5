package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;
import io.weightlab.jobs.spark.JobRun;

import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.fleet.FleetCheckpoint;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code weightlab inspect} over a fleet (docs/fleet.md, Fleet inspect): the inventory of many checkpoints from their
 * headers only. {@link FleetRun} resolves the inputs and reads the headers (on the executors when there are many),
 * fails or skips bad checkpoints, folds duplicates and, with {@code --append}, leaves out the checkpoints already in
 * the dataset; each checkpoint's rows ({@link InspectJob#tensorRows}, as a single {@code inspect} writes them) go,
 * with the fleet columns, to one file of a dataset partitioned by model and step, committed by one rename. No tensor
 * data is read, so there are no waves. Without an output the run only prints.
 */
public final class FleetInspectJob {
    public record Options(List<String> inputs, String inputsFile, String out, FleetDataset.Mode mode, boolean prune,
                          FleetStatsJob.BadCheckpoints bad) {}

    /**
     * What the console shows of each checkpoint analysed: one line (default), nothing (--summary: the fleet totals
     * only), all that {@code inspect} on it alone prints (--each), or that without its tensors (--each --summary).
     */
    public enum Listing { LINE, NONE, EACH, EACH_SUMMARY }

    /** One checkpoint's inventory: where it is, its label, its rows (with the fleet columns when written) and file count. */
    public record Inventory(String uri, String model, Long step, List<Map<String, Object>> rows, int files) {}

    /** What came out: per checkpoint analysed, its inventory, in input order; and the run facts (also in {@code _fleet/runs/} when written). */
    public record Result(List<Inventory> checkpoints, Map<String, Object> run) {}

    /** Columns that may be null in every row of one checkpoint, with an example value of their type. */
    public static final Map<String, Object> NULL_TYPES = Map.of("stack", "", "layer", 0L, "expert", 0L, "shape", List.of(0L));

    private FleetInspectJob() {}

    public static Result run(SparkContext sc, Options o, Listing listing, PrintStream console) {
        return run(sc, resolve(sc.hadoopConfiguration(), o), listing, console);
    }

    /**
     * A fleet's inputs resolved once (globs listed, the --inputs file read), with the settings they were resolved for:
     * few enough checkpoints ({@link FleetStatsJob#DRIVER_HEADERS_MAX}) are read on the driver, and inspect then starts
     * no Spark at all, as for one checkpoint ({@link #runWithoutSpark}).
     */
    public record Resolved(FleetRun.Settings settings, List<FleetCheckpoint> checkpoints, Configuration hconf) {
        public boolean needsSpark() {
            return checkpoints.size() > hconf.getInt(FleetStatsJob.DRIVER_HEADERS_MAX, 16);
        }
    }

    public static Resolved resolve(Configuration hconf, Options o) {
        FleetRun.Settings s = new FleetRun.Settings(o.inputs(), o.inputsFile(), o.out(), o.mode(), o.prune(), o.bad(), false, null);
        return new Resolved(s, FleetRun.resolve(hconf, s), hconf);
    }

    public static Result run(SparkContext sc, Resolved fleetInputs, Listing listing, PrintStream console) {
        try (JobRun run = JobRun.start("inspect", sc, console)) {
            return run(run, fleetInputs, listing, console);
        }
    }

    /** A fleet whose headers the driver reads: the same run and dataset with no SparkContext (about 1.5 s of start-up less). */
    public static Result runWithoutSpark(Resolved fleetInputs, Listing listing, PrintStream console) {
        try (JobRun run = JobRun.local("inspect", fleetInputs.hconf(), console)) {
            return run(run, fleetInputs, listing, console);
        }
    }

    private static Result run(JobRun run, Resolved in, Listing listing, PrintStream console) {
        FleetRun.Settings s = in.settings();
        FleetRun fleet = s.out() == null ? FleetRun.withoutOutput(run, s, in.checkpoints(), x -> {}) : FleetRun.begin(run, s, in.checkpoints(), x -> {});
        try {
            List<Inventory> done = new ArrayList<>();
            for (FleetRun.Opened x : fleet.todo()) {
                Checkpoint c = x.ckpt();
                List<Map<String, Object>> rows = InspectJob.tensorRows(c);
                if (fleet.writes()) fleet.commit(x, rows, NULL_TYPES);
                done.add(new Inventory(c.root(), x.spec().model(), x.spec().step(), rows, c.shards().size()));
                switch (listing) {
                    case LINE -> console.printf("%s  [model %s, step %s]%n", InspectJob.summaryLine(c), x.spec().model(),
                            x.spec().step() == null ? "-" : x.spec().step());
                    case EACH, EACH_SUMMARY -> {
                        console.printf("%n[model %s, step %s]%n", x.spec().model(), x.spec().step() == null ? "-" : x.spec().step());
                        InspectJob.print(c, console, listing == Listing.EACH);
                    }
                    case NONE -> { }
                }
            }
            Map<String, Object> facts = new LinkedHashMap<>();
            long[] t = totals(done).get("all");
            facts.put("tensors", t[0]);
            facts.put("parameters", t[1]);
            facts.put("tensor_bytes", t[2]);
            facts.put("seconds", run.seconds());
            return new Result(done, fleet.finish(facts));
        } catch (RuntimeException e) {
            fleet.abort(); // checkpoints committed so far stay: each is complete
            throw e;
        }
    }

    /** Fleet totals {@code [tensors, parameters, bytes, files]}: "all", then per stored dtype ("dtype:F32", ...). */
    static Map<String, long[]> totals(List<Inventory> inventories) {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("all", new long[4]);
        Map<String, long[]> byDtype = new TreeMap<>();
        for (Inventory i : inventories) {
            m.get("all")[3] += i.files();
            for (Map<String, Object> r : i.rows()) {
                add(m.get("all"), r);
                add(byDtype.computeIfAbsent("dtype:" + r.get("dtype"), k -> new long[4]), r);
            }
        }
        m.putAll(byDtype);
        return m;
    }

    private static void add(long[] v, Map<String, Object> row) {
        v[0]++;
        v[1] += ((Number) row.get("parameters")).longValue();
        v[2] += ((Number) row.get("bytes")).longValue();
    }

    /** The console lines after a fleet run: the totals of the checkpoints analysed, by dtype, and where they went. */
    public static void printSummary(Result r, String out, PrintStream console) {
        @SuppressWarnings("unchecked") List<Object> bad = (List<Object>) r.run().get("bad_checkpoints");
        Map<String, long[]> totals = totals(r.checkpoints());
        long[] all = totals.get("all");
        console.printf("%ninspect (fleet): %d checkpoint(s) analysed, %s unchanged, %d bad: %d tensors, %s parameters, %s in %d file(s), in %.1f s%n",
                r.checkpoints().size(), r.run().get("unchanged"), bad.size(), all[0], Format.count(all[1]), Format.bytes(all[2]), all[3],
                (double) r.run().get("seconds"));
        for (Map.Entry<String, long[]> e : totals.entrySet()) {
            if (!e.getKey().startsWith("dtype:")) continue;
            console.printf("  %-28s %7d tensors %12s params %10s%n", e.getKey().substring(6), e.getValue()[0],
                    Format.count(e.getValue()[1]), Format.bytes(e.getValue()[2]));
        }
        if (out != null) console.println("output: " + out + "  (Parquet dataset partitioned by model and step; run record in _fleet/runs/)");
    }
}
