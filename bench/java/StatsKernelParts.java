import io.weightlab.common.io.*;
import io.weightlab.common.model.*;
import io.weightlab.common.stats.*;
import org.apache.hadoop.conf.Configuration;
import java.util.*;
/**
 * Where the stats kernel's time per value goes, one thread, without Spark: the whole per-slice summary
 * (SliceStatistics, every slice of a float checkpoint), then its parts over the same values: read + decode, the
 * moments (MomentAccumulator.addBlock in 8192-value blocks), the quantile buckets (QuantileSummary.addValues).
 * Twelve repetitions: the first ones show the JIT's warm-up. Run with bench/kernel_throughput.sh CHECKPOINT --parts.
 */
public class StatsKernelParts {
  public static void main(String[] a) throws Exception {
    Configuration conf = new Configuration();
    Checkpoint c = CheckpointCatalog.open(conf, a[0]);
    List<StatsUnit> units = new ArrayList<>();
    for (TensorInfo t : c.tensors()) if (t.dtype() == DType.F32) units.addAll(StatsUnit.slice(t, 64 << 20, null));
    double[] vals = new double[1 << 20];
    byte[] buf = new byte[4 << 20];
    for (int rep = 0; rep < 12; rep++) {
      long t0 = System.nanoTime();
      try (RangeReader r = new RangeReader(conf)) { for (StatsUnit u : units) SliceStatistics.compute(r, u); }
      long t1 = System.nanoTime(), n = 0;
      try (RangeReader r = new RangeReader(conf)) {
        for (StatsUnit u : units) {
          int cnt = (int) (u.byteLength() / 4);
          for (int off = 0; off < cnt; off += vals.length) {
            int k = Math.min(vals.length, cnt - off);
            r.read(u.tensor().file(), u.byteBegin() + 4L * off, buf, 0, 4 * k);
            ElementDecoder.decode(DType.F32, buf, 0, k, vals, 0);
            n += k;
          }
        }
      }
      long t2 = System.nanoTime();
      MomentAccumulator m = new MomentAccumulator();
      for (long i = 0; i < n / vals.length; i++) for (int off = 0; off < vals.length; off += 8192) m.addBlock(vals, off, 8192);
      long t3 = System.nanoTime();
      QuantileSummary q = QuantileSummary.forType(DType.F32, true);
      for (long i = 0; i < n / vals.length; i++) q.addValues(vals, 0, vals.length);
      long t4 = System.nanoTime();
      System.out.printf("rep %2d: whole summary %.2f ns/value | read+decode %.2f, moments %.2f, quantile buckets %.2f | %d slices, %d values%n",
          rep, (t1 - t0) / (double) n, (t2 - t1) / (double) n, (t3 - t2) / (double) n, (t4 - t3) / (double) n, units.size(), n);
    }
  }
}
