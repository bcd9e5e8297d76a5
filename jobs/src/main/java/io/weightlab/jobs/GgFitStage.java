package io.weightlab.jobs;

import io.weightlab.common.io.TensorValues;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.GgMleSolver;
import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Generalized-Gaussian fits for the stats job. Tensors whose quantile summary is exact (stored dtypes of at
 * most 16 bits) are fitted on the driver from their counts, with no further pass over the data. The others
 * (32/64-bit, dequantized) are fitted on all their values: their slices are decoded once and cached on the
 * executors, one pass gives the mean absolute deviation, and each Newton/bisection step of the MLE is one
 * pass computing S0, S1, S2 for every tensor still iterating.
 */
final class GgFitStage {
    private GgFitStage() {}

    static Map<String, GgFit> fit(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, List<StatsUnit> units,
                                  Map<String, TensorPartial> partials, boolean mle, PrintStream console) {
        Map<String, GgFit> out = new HashMap<>();
        Map<String, double[]> needPasses = new HashMap<>(); // name -> {mu}
        for (Map.Entry<String, TensorPartial> e : partials.entrySet()) {
            TensorPartial p = e.getValue();
            String why = GgFit.precheck(p.moments());
            if (why != null) out.put(e.getKey(), GgFit.notFitted(why));
            else if (p.quantiles().isExact()) out.put(e.getKey(), p.quantiles().ggFitExact(p.moments()));
            else needPasses.put(e.getKey(), new double[] {p.moments().mean()});
        }
        if (needPasses.isEmpty()) return out;

        List<StatsUnit> mine = new ArrayList<>();
        for (StatsUnit u : units) if (needPasses.containsKey(u.tensor().name())) mine.add(u);
        Broadcast<Map<String, double[]>> mus = jsc.broadcast(needPasses);
        // Decoded once, cached on the executors (spilling to disk when memory is short), read by every pass.
        List<List<StatsUnit>> tasks = WorkPacker.pack(mine, StatsUnit::byteLength, jsc.defaultParallelism(), StatsJob.TASK_BYTES);
        // (tensor, slice index) -> ln|x − μ| of the finite non-zero values, decoded once and cached on the executors for
        // every pass: ln|x − μ| does not depend on β, so each Newton step costs one exp per value
        JavaPairRDD<Tuple2<String, Integer>, double[]> values = jsc.parallelize(tasks, Math.max(1, tasks.size()))
                .flatMapToPair(group -> {
                    List<Tuple2<Tuple2<String, Integer>, double[]>> l = new ArrayList<>();
                    try (RangeReader r = new RangeReader(conf.value().get())) { // one stream per file for the whole task
                        for (StatsUnit u : group) {
                            double mu = mus.value().get(u.tensor().name())[0];
                            l.add(new Tuple2<>(new Tuple2<>(u.tensor().name(), u.sliceIndex()), GgMleSolver.logAbs(
                                    TensorValues.read(r, u.tensor(), u.firstElement(), u.endElement(), u.dequantization()), mu)));
                        }
                    }
                    return l.iterator();
                })
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            // Per-slice sums are added on the driver in slice order, so results do not depend on the partitioning.
            Map<String, Double> absSums = sumInSliceOrder(values.mapToPair(t -> new Tuple2<>(t._1(), new double[] {GgMleSolver.absSumOfLogs(t._2())}))
                    .collect()).entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue()[0]));
            Map<String, GgMleSolver> solvers = new HashMap<>();
            Map<String, Double> m1 = new HashMap<>();
            for (String name : needPasses.keySet()) {
                TensorPartial p = partials.get(name);
                double meanAbs = absSums.get(name) / p.moments().count();
                m1.put(name, meanAbs);
                solvers.put(name, new GgMleSolver(p.moments().count(),
                        GeneralizedGaussian.betaFromAbsDeviation(p.moments().variancePopulation(), meanAbs)));
            }
            int passes = 1;
            while (mle) {
                Map<String, Double> pending = new HashMap<>(); // tensor -> β of this step (μ is folded into the cached logs)
                solvers.forEach((n, s) -> { if (!s.done()) pending.put(n, s.beta()); });
                if (pending.isEmpty()) break;
                Broadcast<Map<String, Double>> at = jsc.broadcast(pending);
                Map<String, double[]> sums = sumInSliceOrder(values.filter(t -> at.value().containsKey(t._1()._1())).mapToPair(t -> {
                    return new Tuple2<>(t._1(), GgMleSolver.powerSumsOfLogs(t._2(), at.value().get(t._1()._1())));
                }).collect());
                at.destroy();
                sums.forEach((n, s) -> solvers.get(n).accept(s[0], s[1], s[2]));
                passes++;
            }
            console.printf("[stats] generalized-Gaussian MLE on all values of %d tensor(s): %d distributed passes%n", needPasses.size(), passes);
            for (String name : needPasses.keySet()) {
                TensorPartial p = partials.get(name);
                GgMleSolver s = solvers.get(name);
                if (!mle) {
                    out.put(name, GgFit.momentsOnly(p.moments(), m1.get(name), p.quantiles().bucketValues(), p.quantiles().countsView()));
                } else {
                    out.put(name, GgFit.assemble(p.moments(), m1.get(name), s, p.quantiles().bucketValues(), p.quantiles().countsView(), true));
                }
            }
            return out;
        } finally {
            values.unpersist(false);
            mus.destroy();
        }
    }

    /** Adds per-slice sum vectors of each tensor in slice order (deterministic whatever the partitioning). */
    static Map<String, double[]> sumInSliceOrder(List<Tuple2<Tuple2<String, Integer>, double[]>> parts) {
        List<Tuple2<Tuple2<String, Integer>, double[]>> sorted = new ArrayList<>(parts);
        sorted.sort(java.util.Comparator.comparing((Tuple2<Tuple2<String, Integer>, double[]> t) -> t._1()._1())
                .thenComparing(t -> t._1()._2()));
        Map<String, double[]> out = new java.util.LinkedHashMap<>();
        for (Tuple2<Tuple2<String, Integer>, double[]> t : sorted) {
            double[] acc = out.computeIfAbsent(t._1()._1(), k -> new double[t._2().length]);
            for (int i = 0; i < acc.length; i++) acc[i] += t._2()[i];
        }
        return out;
    }

}
