import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.GgMleSolver;
import io.weightlab.common.stats.LogPowerTable;
import io.weightlab.common.stats.QuantileSummary;
import io.weightlab.common.stats.SliceStatistics;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;

/**
 * The generalized-Gaussian MLE on ALL values of one tensor, as the stats job runs it, timed without Spark:
 * F32 tensors through one pass building a LogPowerTable and the Newton solve on it, <=16-bit tensors through their exact histogram.
 * Prints one JSON line with the fit and the median of five timings (and the first, cold one). Run with bench/gg_vs_scipy.sh.
 */
public class GgMleThroughput {
    public static void main(String[] a) throws Exception {
        Configuration conf = new Configuration();
        Checkpoint c = CheckpointCatalog.open(conf, a[0]);
        TensorInfo t = c.tensor(a[1]);
        double[] secs = new double[5];
        for (int rep = 0; rep < secs.length; rep++) {
            long t0 = System.nanoTime();
            GgFit f;
            try (RangeReader r = new RangeReader(conf)) {
                TensorPartial p = null;
                for (StatsUnit u : StatsUnit.slice(t, 64 << 20, null)) {
                    TensorPartial q = SliceStatistics.compute(r, u);
                    p = p == null ? q : p.merge(q);
                }
                if (p.quantiles().isExact()) {
                    f = p.quantiles().ggFitExact(p.moments());
                } else {
                    // as the stats job does it: one more pass summarising |x − μ| into a LogPowerTable slice by slice,
                    // then the whole MLE on the merged table; KS on the float32 buckets
                    double mu = p.moments().mean();
                    LogPowerTable table = new LogPowerTable(mu);
                    for (StatsUnit u : StatsUnit.slice(t, 64 << 20, null)) table.merge(SliceStatistics.logPowerTable(r, u, mu));
                    long n = p.moments().count();
                    double m1 = table.absSum() / n;
                    GgMleSolver mle = GgMleSolver.solve(n, GeneralizedGaussian.betaFromAbsDeviation(p.moments().variancePopulation(), m1), table);
                    f = GgFit.assemble(p.moments(), m1, mle, p.quantiles().bucketValues(), p.quantiles().countsView(), true);
                }
            }
            secs[rep] = (System.nanoTime() - t0) / 1e9;
            if (rep == secs.length - 1) {
                double first = secs[0];
                java.util.Arrays.sort(secs);
                double s = secs[secs.length / 2];
                System.out.printf(java.util.Locale.ROOT, "{\"tensor\":\"%s\",\"n\":%d,\"seconds\":%.4f,\"first_seconds\":%.4f,\"beta\":%.10g,\"alpha\":%.10g,\"mu\":%.10g,\"mean_loglik\":%.10g,\"steps\":%d}%n",
                        t.name(), t.elementCount(), s, first, f.beta(), f.alpha(), f.mu(), f.logLikelihood(), f.mleSteps());
            }
        }
    }
}
