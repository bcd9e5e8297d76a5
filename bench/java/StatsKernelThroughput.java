import io.weightlab.common.io.*;
import io.weightlab.common.model.*;
import io.weightlab.common.stats.*;
import org.apache.hadoop.conf.Configuration;
import java.util.*;
import java.util.concurrent.*;
/**
 * The stats kernel without Spark: every 64 MiB slice of a checkpoint through SliceStatistics on N threads
 * (read from the page cache, count, merge-ready partials), three repetitions. Shows how fast the per-slice
 * work is and so how much of a job's time is Spark's. Run with bench/kernel_throughput.sh.
 */
public class StatsKernelThroughput {
  public static void main(String[] a) throws Exception {
    Configuration conf = new Configuration();
    Checkpoint c = CheckpointCatalog.open(conf, a[0]);
    List<StatsUnit> units = new ArrayList<>();
    for (TensorInfo t : c.tensors()) units.addAll(StatsUnit.slice(t, 64 << 20, null));
    long bytes = units.stream().mapToLong(StatsUnit::byteLength).sum();
    int threads = Integer.parseInt(a[1]);
    for (int rep = 0; rep < 3; rep++) {
      ExecutorService ex = Executors.newFixedThreadPool(threads);
      ConcurrentLinkedQueue<StatsUnit> q = new ConcurrentLinkedQueue<>(units);
      long t0 = System.nanoTime();
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < threads; i++) fs.add(ex.submit(() -> { StatsUnit u; while ((u = q.poll()) != null) { try (RangeReader r = new RangeReader(conf)) { SliceStatistics.compute(r, u); } } return null; }));
      for (Future<?> f : fs) f.get();
      ex.shutdown();
      System.out.printf("%d threads: %.2f GB/s%n", threads, bytes / ((System.nanoTime() - t0) / 1e9) / 1e9);
    }
  }
}
