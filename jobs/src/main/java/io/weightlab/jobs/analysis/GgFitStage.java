package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.SerializableConfiguration;
import io.weightlab.jobs.spark.WorkPacker;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.GgMleSolver;
import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.LogPowerTable;
import io.weightlab.common.stats.SliceStatistics;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Generalized-Gaussian fits for the stats job. Tensors whose quantile summary is exact (stored dtypes of at
 * most 16 bits) are fitted on the driver from their counts, with no further pass over the data. The others
 * (32/64-bit, dequantized) are fitted on all their values in ONE more pass: each slice is summarised into a
 * {@link LogPowerTable} around its tensor's mean, the tables of a tensor are merged in slice order on an
 * executor, and the whole Newton/bisection solve runs there on the merged table, which gives the power sums at
 * any β. Nothing is cached; only the fits' scalars come back to the driver.
 */
final class GgFitStage {
    private GgFitStage() {}

    static Map<String, GgFit> fit(JavaSparkContext jsc, Broadcast<SerializableConfiguration> conf, List<StatsUnit> units,
                                  Map<String, TensorPartial> partials, boolean mle, PrintStream console) {
        Map<String, GgFit> out = new HashMap<>();
        Map<String, double[]> needPass = new HashMap<>(); // name -> {mean, count, population variance}
        for (Map.Entry<String, TensorPartial> e : partials.entrySet()) {
            TensorPartial p = e.getValue();
            String why = GgFit.precheck(p.moments());
            if (why != null) out.put(e.getKey(), GgFit.notFitted(why));
            else if (p.quantiles().isExact()) out.put(e.getKey(), p.quantiles().ggFitExact(p.moments()));
            else needPass.put(e.getKey(), new double[] {p.moments().mean(), p.moments().count(), p.moments().variancePopulation()});
        }
        if (needPass.isEmpty()) return out;

        List<StatsUnit> mine = new ArrayList<>();
        for (StatsUnit u : units) if (needPass.containsKey(u.tensor().name())) mine.add(u);
        Broadcast<Map<String, double[]>> moments = jsc.broadcast(needPass);
        List<List<StatsUnit>> tasks = WorkPacker.pack(mine, StatsUnit::byteLength, jsc.defaultParallelism(), io.weightlab.jobs.spark.MomentPass.TASK_BYTES);
        try {
            // (tensor, slice) -> table; a tensor's tables are merged in slice order so that results do not depend on
            // the partitioning, then solved where they were merged
            List<Tuple2<String, Tuple2<Double, GgMleSolver>>> solved = jsc.parallelize(tasks, Math.max(1, tasks.size()))
                    .flatMapToPair(group -> {
                        List<Tuple2<String, Tuple2<Integer, LogPowerTable>>> l = new ArrayList<>();
                        try (RangeReader r = new RangeReader(conf.value().get())) { // one stream per file for the whole task
                            for (StatsUnit u : group) {
                                LogPowerTable t = SliceStatistics.logPowerTable(r, u, moments.value().get(u.tensor().name())[0]);
                                l.add(new Tuple2<>(u.tensor().name(), new Tuple2<>(u.sliceIndex(), t)));
                            }
                        }
                        return l.iterator();
                    })
                    .groupByKey()
                    .map(g -> {
                        List<Tuple2<Integer, LogPowerTable>> parts = new ArrayList<>();
                        g._2().forEach(parts::add);
                        parts.sort(java.util.Comparator.comparing(Tuple2::_1));
                        LogPowerTable all = new LogPowerTable(parts.get(0)._2().mu());
                        for (Tuple2<Integer, LogPowerTable> p : parts) all.merge(p._2());
                        double[] m = moments.value().get(g._1());
                        long n = (long) m[1];
                        double meanAbs = all.absSum() / n;
                        GgMleSolver s = mle ? GgMleSolver.solve(n, GeneralizedGaussian.betaFromAbsDeviation(m[2], meanAbs), all) : null;
                        return new Tuple2<>(g._1(), new Tuple2<>(meanAbs, s));
                    })
                    .collect();
            int steps = solved.stream().mapToInt(t -> t._2()._2() == null ? 0 : t._2()._2().steps()).max().orElse(0);
            // The KS distances against three CDFs are the driver's work once the executors are idle: one tensor per
            // core (each fit is independent, so the result does not depend on the order)
            Map<String, GgFit> assembled = solved.parallelStream().collect(java.util.stream.Collectors.toConcurrentMap(Tuple2::_1, t -> {
                TensorPartial p = partials.get(t._1());
                double meanAbs = t._2()._1();
                return mle
                        ? GgFit.assemble(p.moments(), meanAbs, t._2()._2(), p.quantiles().bucketValues(), p.quantiles().countsView(), true)
                        : GgFit.momentsOnly(p.moments(), meanAbs, p.quantiles().bucketValues(), p.quantiles().countsView());
            }));
            out.putAll(assembled);
            console.printf("[stats] generalized-Gaussian fit on all values of %d tensor(s): one distributed pass%s%n", needPass.size(),
                    mle ? ", MLE solved on the executors from its table (at most " + steps + " Newton/bisection steps)" : "");
            return out;
        } finally {
            moments.destroy();
        }
    }
}
