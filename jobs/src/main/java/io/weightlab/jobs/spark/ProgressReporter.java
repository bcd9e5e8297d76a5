package io.weightlab.jobs.spark;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-stage progress on the console (units done / total, bytes, rate, ETA) from Spark's task-end events,
 * printed at most every two seconds, so a long job shows more than Spark's log lines.
 */
public final class ProgressReporter extends SparkListener {
    private final String job;
    private final long totalUnits;
    private final long totalBytes;
    private final long[] unitBytes;
    private final PrintStream out;
    private final long start = System.nanoTime();
    private final AtomicLong doneUnits = new AtomicLong();
    private final AtomicLong doneBytes = new AtomicLong();
    private final AtomicLong runMs = new AtomicLong();
    private final AtomicLong gcMs = new AtomicLong();
    private final AtomicLong shuffleWriteNs = new AtomicLong();
    private final AtomicLong deserializeMs = new AtomicLong();
    private volatile long lastPrint;
    private volatile int stageId = -1;

    /** {@code unitBytes[i]} is the size of the unit in partition i of the stage being watched. */
    public ProgressReporter(String job, long[] unitBytes, PrintStream out) {
        this.job = job;
        this.unitBytes = unitBytes;
        this.totalUnits = unitBytes.length;
        long t = 0;
        for (long b : unitBytes) t += b;
        this.totalBytes = t;
        this.out = out;
    }

    /** Task time totals of the watched stage: run, GC, deserialization and shuffle write, in seconds. */
    public String taskTimes() {
        return String.format(Locale.ROOT, "task run %.1fs (GC %.1fs, deserialize %.1fs, shuffle write %.1fs)",
                runMs.get() / 1e3, gcMs.get() / 1e3, deserializeMs.get() / 1e3, shuffleWriteNs.get() / 1e9);
    }

    /** The first stage that runs this many tasks is the one reported. */
    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        if (stageId < 0 && e.stageId() >= 0) stageId = e.stageId();
        if (e.stageId() != stageId || !"Success".equals(e.reason().toString())) return;
        if (e.taskMetrics() != null) {
            runMs.addAndGet(e.taskMetrics().executorRunTime());
            gcMs.addAndGet(e.taskMetrics().jvmGCTime());
            deserializeMs.addAndGet(e.taskMetrics().executorDeserializeTime());
            shuffleWriteNs.addAndGet(e.taskMetrics().shuffleWriteMetrics().writeTime());
        }
        int p = e.taskInfo().index();
        long units = doneUnits.incrementAndGet();
        long bytes = doneBytes.addAndGet(p >= 0 && p < unitBytes.length ? unitBytes[p] : 0);
        long now = System.nanoTime();
        if (units == totalUnits || now - lastPrint > 2_000_000_000L) {
            lastPrint = now;
            double secs = (now - start) / 1e9;
            double rate = bytes / Math.max(secs, 1e-9);
            double eta = rate > 0 ? (totalBytes - bytes) / rate : Double.NaN;
            out.printf(Locale.ROOT, "[%s] %d/%d tasks, %s of %s read, %.1f MB/s, ETA %s%n", job, units, totalUnits,
                    Format.bytes(bytes), Format.bytes(totalBytes), rate / 1e6, Double.isNaN(eta) ? "?" : String.format(Locale.ROOT, "%.0fs", eta));
        }
    }
}
