import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.GgFit;
import io.weightlab.common.stats.QuantileSummary;
import io.weightlab.common.stats.SliceStatistics;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;

/**
 * The generalized-Gaussian MLE on ALL values of one tensor, as the stats job runs it, timed without Spark:
 * F32 tensors through the power-sum passes over the values, <=16-bit tensors through their exact histogram.
 * Prints one JSON line with the fit and the seconds. Run with bench/gg_vs_scipy.sh.
 */
public class GgMleThroughput {
    public static void main(String[] a) throws Exception {
        Configuration conf = new Configuration();
        Checkpoint c = CheckpointCatalog.open(conf, a[0]);
        TensorInfo t = c.tensor(a[1]);
        for (int rep = 0; rep < 3; rep++) {
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
                    int n = (int) t.elementCount();
                    double[] x = new double[n];
                    ElementDecoder.decode(t.dtype(), r.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, n, x, 0);
                    // as the stats job does it: power sums over all values per Newton step, KS on the float32 buckets
                    double mu = p.moments().mean();
                    double[] logs = io.weightlab.common.stats.GgMleSolver.logAbs(x, mu);
                    double m1 = io.weightlab.common.stats.GgMleSolver.absSumOfLogs(logs) / n;
                    io.weightlab.common.stats.GgMleSolver mle = new io.weightlab.common.stats.GgMleSolver(n,
                            io.weightlab.common.stats.GeneralizedGaussian.betaFromAbsDeviation(p.moments().variancePopulation(), m1));
                    while (!mle.done()) {
                        double[] sums = io.weightlab.common.stats.GgMleSolver.powerSumsOfLogs(logs, mle.beta());
                        mle.accept(sums[0], sums[1], sums[2]);
                    }
                    f = GgFit.assemble(p.moments(), m1, mle, p.quantiles().bucketValues(), p.quantiles().countsView(), true);
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (rep == 2) {
                System.out.printf(java.util.Locale.ROOT, "{\"tensor\":\"%s\",\"n\":%d,\"seconds\":%.4f,\"beta\":%.10g,\"alpha\":%.10g,\"mu\":%.10g,\"mean_loglik\":%.10g,\"steps\":%d}%n",
                        t.name(), t.elementCount(), s, f.beta(), f.alpha(), f.mu(), f.logLikelihood(), f.mleSteps());
            }
        }
    }
}
