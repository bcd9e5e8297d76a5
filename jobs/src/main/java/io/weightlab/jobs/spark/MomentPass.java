package io.weightlab.jobs.spark;

import io.weightlab.jobs.analysis.StatsJob;

import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One distributed pass measuring the moments (mean, M2.., NaN/Inf counts) of the given tensors: {@code stats}'s own
 * slice pass ({@link StatsJob#tensorPartials}), so the same numbers whatever the partitioning.
 */
public final class MomentPass {
    private MomentPass() {}

    public static Map<String, MomentAccumulator> measure(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf,
                                                  List<TensorInfo> tensors, long sliceBytes) {
        if (tensors.isEmpty()) return Map.of();
        List<StatsUnit> units = new ArrayList<>();
        for (TensorInfo t : tensors) units.addAll(StatsUnit.slice(t, sliceBytes, null));
        List<List<StatsUnit>> tasks = WorkPacker.pack(units, StatsUnit::byteLength, jsc.defaultParallelism(), StatsJob.TASK_BYTES);
        org.apache.spark.util.LongAccumulator nanos = jsc.sc().longAccumulator("weightlab.moments.nanos");
        Map<String, TensorPartial> partials = StatsJob.tensorPartials(jsc, conf, tasks, units.size(), nanos).collectAsMap();
        Map<String, MomentAccumulator> out = new HashMap<>();
        partials.forEach((k, v) -> out.put(k, v.moments()));
        return out;
    }
}
