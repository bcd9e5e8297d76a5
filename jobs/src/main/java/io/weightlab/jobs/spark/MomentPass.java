package io.weightlab.jobs.spark;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.stats.SliceStatistics;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The slice pass: every tensor cut into row slices, each slice summarised where its task runs (moments, exact or
 * bucketed quantiles), the slices of a tensor merged in slice order, so the numbers are the same whatever the
 * partitioning. {@code stats} runs it over a whole checkpoint; rescale and lr-scales {@link #measure} the moments of
 * the tensors they need.
 */
public final class MomentPass {
    /** Units are packed into tasks of about this many bytes: per-task scheduling costs milliseconds. */
    public static final long TASK_BYTES = 512L << 20;

    private MomentPass() {}

    public static Map<String, MomentAccumulator> measure(JobRun run, List<TensorInfo> tensors, long sliceBytes) {
        if (tensors.isEmpty()) return Map.of();
        JavaSparkContext jsc = run.jsc();
        List<StatsUnit> units = new ArrayList<>();
        for (TensorInfo t : tensors) units.addAll(StatsUnit.slice(t, sliceBytes, null));
        List<List<StatsUnit>> tasks = WorkPacker.pack(units, StatsUnit::byteLength, jsc.defaultParallelism(), TASK_BYTES);
        org.apache.spark.util.LongAccumulator nanos = jsc.sc().longAccumulator("weightlab.moments.nanos");
        ProgressReporter progress = run.progress(tasks.stream().mapToLong(l -> l.stream().mapToLong(StatsUnit::byteLength).sum()).toArray());
        Map<String, TensorPartial> partials = collectPartials(jsc, run.conf(), tasks, nanos);
        run.endProgress(progress);
        Map<String, MomentAccumulator> out = new HashMap<>();
        partials.forEach((k, v) -> out.put(k, v.moments()));
        return out;
    }

    /** The largest serialised summary of one slice: a count per 16-bit code (int code, long count) and its header. */
    static final long MAX_SLICE_RESULT_BYTES = (1L << 16) * 12 + 4096;

    /**
     * One partial per tensor, every number the same whatever the partitioning (slices merged in slice order). Passes
     * whose slices' summaries could exceed the driver's result limit ({@code spark.driver.maxResultSize}, at the
     * worst case of every code present in every slice) take the shuffle route, the others are collected directly.
     */
    public static Map<String, TensorPartial> collectPartials(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                             List<List<StatsUnit>> tasks, org.apache.spark.util.LongAccumulator nanos) {
        long limit = jsc.sc().conf().getSizeAsBytes("spark.driver.maxResultSize", "1g");
        return collectPartials(jsc, conf, tasks, nanos, limit <= 0 ? Long.MAX_VALUE : limit / MAX_SLICE_RESULT_BYTES);
    }

    /** As above with the largest number of slices collected directly (tests pick the route with it). */
    static Map<String, TensorPartial> collectPartials(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                      List<List<StatsUnit>> tasks, org.apache.spark.util.LongAccumulator nanos,
                                                      long maxCollectedSlices) {
        int units = tasks.stream().mapToInt(List::size).sum();
        return units > maxCollectedSlices ? shuffled(jsc, conf, tasks, units, nanos) : collected(jsc, conf, tasks, nanos);
    }

    /**
     * Collected directly: every slice summarised where its task runs and sent back serialised as soon as it is done
     * (its count table sparse: one entry per code present), then the slices of each tensor merged on the driver in
     * slice order. No shuffle: a reduce stage cost about 1.5 s per fleet wave of ten MiniLM-sized checkpoints and
     * 0.5 s of a MiniLM `stats` run (BENCHMARKS.md), for tensors that are mostly one slice each. Driver memory: the
     * serialised summaries of the pass, then one count table per tensor, as with the shuffle.
     */
    private static Map<String, TensorPartial> collected(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                        List<List<StatsUnit>> tasks, org.apache.spark.util.LongAccumulator nanos) {
        List<SliceBytes> slices = jsc.parallelize(tasks, Math.max(1, tasks.size()))
                .mapPartitions(it -> computeUnits(WorkPacker.flatten(it), conf.value().get(), nanos))
                .collect();
        // deserialising is most of the merge: tensors on every core, each one's slices in slice order
        Map<String, List<SliceBytes>> byTensor = new HashMap<>();
        for (SliceBytes b : slices) byTensor.computeIfAbsent(b.tensor(), k -> new ArrayList<>()).add(b);
        List<List<SliceBytes>> groups = new ArrayList<>(byTensor.values());
        List<TensorPartial> merged = DriverThreads.map(groups, MomentPass::mergeInSliceOrder);
        Map<String, TensorPartial> out = new HashMap<>();
        for (int g = 0; g < groups.size(); g++) out.put(groups.get(g).get(0).tensor(), merged.get(g));
        return out;
    }

    /** The shuffle route: slices summarised on the executors, each tensor's merged in slice order in a reduce task. */
    private static Map<String, TensorPartial> shuffled(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                       List<List<StatsUnit>> tasks, int units, org.apache.spark.util.LongAccumulator nanos) {
        return new HashMap<>(jsc.parallelize(tasks, Math.max(1, tasks.size()))
                .mapPartitionsToPair(it -> {
                    Iterator<SliceBytes> slices = computeUnits(WorkPacker.flatten(it), conf.value().get(), nanos);
                    return new Iterator<scala.Tuple2<String, SliceBytes>>() {
                        public boolean hasNext() { return slices.hasNext(); }
                        public scala.Tuple2<String, SliceBytes> next() {
                            SliceBytes b = slices.next();
                            return new scala.Tuple2<>(b.tensor(), b);
                        }
                    };
                })
                .groupByKey(reducePartitions(units, jsc.defaultParallelism()))
                .mapValues(MomentPass::mergeInSliceOrder)
                .collectAsMap());
    }

    /**
     * Reduce partitions: 4 per core, and more when there are many units, so a reduce task holds at most ~64 slice
     * summaries (each a 0.5 MB count table once deserialized) however many small tensors a fleet brings.
     */
    static int reducePartitions(int units, int parallelism) {
        return Math.max(1, Math.min(units, Math.max(parallelism * 4, (units + 63) / 64)));
    }

    /** One tensor's slices merged in slice order (the left fold every route uses). */
    static TensorPartial mergeInSliceOrder(Iterable<SliceBytes> slices) {
        List<SliceBytes> l = new ArrayList<>();
        slices.forEach(l::add);
        l.sort(Comparator.comparingInt(SliceBytes::slice));
        TensorPartial total = l.get(0).partial();
        for (int k = 1; k < l.size(); k++) total.merge(l.get(k).partial());
        return total;
    }

    /** One slice's summary as Java-serialised bytes: what a task holds per slice until its result is sent. */
    record SliceBytes(String tensor, int slice, byte[] bytes) implements java.io.Serializable {
        static SliceBytes of(String tensor, int slice, TensorPartial p) {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            try (java.io.ObjectOutputStream o = new java.io.ObjectOutputStream(b)) {
                o.writeObject(p);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return new SliceBytes(tensor, slice, b.toByteArray());
        }

        TensorPartial partial() {
            try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes))) {
                return (TensorPartial) in.readObject();
            } catch (java.io.IOException | ClassNotFoundException e) {
                throw new IllegalStateException("slice summary of " + tensor + " unreadable", e);
            }
        }
    }

    /**
     * The task's units summarised one at a time, each serialised at once: a task never holds more than the slice in
     * hand as a dense count table (a fleet task can hold thousands of small tensors' units; collecting the summaries
     * themselves first ran out of heap).
     */
    private static Iterator<SliceBytes> computeUnits(Iterator<StatsUnit> it, Configuration conf,
                                                     org.apache.spark.util.LongAccumulator nanos) {
        RangeReader reader = new RangeReader(conf);
        org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
        if (task != null) task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> reader.close());
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                boolean more = it.hasNext();
                if (!more && task == null) reader.close();
                return more;
            }

            @Override
            public SliceBytes next() {
                long t0 = System.nanoTime();
                StatsUnit u = it.next();
                SliceBytes r = SliceBytes.of(u.tensor().name(), u.sliceIndex(), SliceStatistics.compute(reader, u));
                nanos.add(System.nanoTime() - t0);
                return r;
            }
        };
    }

}
