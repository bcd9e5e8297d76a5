package io.weightlab.jobs.spark;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.stats.SliceStatistics;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

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
        Map<String, TensorPartial> partials = tensorPartials(jsc, run.conf(), tasks, units.size(), nanos).collectAsMap();
        run.endProgress(progress);
        Map<String, MomentAccumulator> out = new HashMap<>();
        partials.forEach((k, v) -> out.put(k, v.moments()));
        return out;
    }

    /** One partial per tensor: slices computed where the tasks run, then merged in slice order. */
    public static JavaPairRDD<String, TensorPartial> tensorPartials(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                             List<List<StatsUnit>> tasks, int units,
                                                             org.apache.spark.util.LongAccumulator nanos) {
        return jsc.parallelize(tasks, Math.max(1, tasks.size()))
                .mapPartitionsToPair(it -> computeUnits(WorkPacker.flatten(it), conf.value().get(), nanos))
                .groupByKey(reducePartitions(units, jsc.defaultParallelism()))
                .mapValues(MomentPass::mergeInSliceOrder);
    }

    /**
     * Reduce partitions: 4 per core, and more when there are many units, so a reduce task holds at most ~64 slice
     * summaries (each a 0.5 MB count table once deserialized) however many small tensors a fleet brings.
     */
    static int reducePartitions(int units, int parallelism) {
        return Math.max(1, Math.min(units, Math.max(parallelism * 4, (units + 63) / 64)));
    }

    /**
     * The task's units summarised one at a time as the shuffle asks for them: a task never holds more than the slice
     * in hand (a fleet task can hold thousands of small tensors' units; collecting them first ran out of heap).
     */
    private static Iterator<Tuple2<String, Tuple2<Integer, TensorPartial>>> computeUnits(Iterator<StatsUnit> it, Configuration conf,
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
            public Tuple2<String, Tuple2<Integer, TensorPartial>> next() {
                long t0 = System.nanoTime();
                StatsUnit u = it.next();
                Tuple2<String, Tuple2<Integer, TensorPartial>> r = new Tuple2<>(u.tensor().name(), new Tuple2<>(u.sliceIndex(), SliceStatistics.compute(reader, u)));
                nanos.add(System.nanoTime() - t0);
                return r;
            }
        };
    }

    private static TensorPartial mergeInSliceOrder(Iterable<Tuple2<Integer, TensorPartial>> parts) {
        List<Tuple2<Integer, TensorPartial>> l = new ArrayList<>();
        parts.forEach(l::add);
        l.sort(Comparator.comparing(Tuple2::_1));
        TensorPartial total = l.get(0)._2();
        for (int i = 1; i < l.size(); i++) total.merge(l.get(i)._2());
        return total;
    }

}
