package io.weightlab.common.stats;

import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.model.DType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.SplittableRandom;

/**
 * Runs the slice summary's loops (decode, moments, quantile buckets, the summary's serialisation) over synthetic
 * values on a background thread while Spark starts, so that the JIT has compiled them before the first slice is
 * read. Why: in local mode the tasks run in this JVM, and the first wave of a fleet ran its slices 3-4x slower than
 * the next ones while those loops were still interpreted or C1-compiled (BENCHMARKS.md, fleet). The values are
 * discarded; nothing else is touched.
 */
public final class KernelWarmUp {
    private KernelWarmUp() {}

    public static void startInBackground() {
        Thread t = new Thread(KernelWarmUp::run, "stats-kernel-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    static void run() {
        int n = 1 << 18;
        double[] v = new double[n];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < n; i++) v[i] = 0.02 * r.nextGaussian();
        byte[] raw = new byte[4 * n];
        ElementEncoder.encode(DType.F32, v, 0, n, raw, 0);
        for (int round = 0; round < 40; round++) {
            ElementDecoder.decode(DType.F32, raw, 0, n, v, 0);
            MomentAccumulator m = new MomentAccumulator();
            QuantileSummary q = QuantileSummary.forType(DType.F32, false);
            SliceStatistics.addDecoded(v, n, m, q);
            q.compact();
            try (ObjectOutputStream o = new ObjectOutputStream(new ByteArrayOutputStream())) {
                o.writeObject(new TensorPartial(m, q));
            } catch (IOException ignored) {
                // in memory: cannot happen
            }
        }
    }
}
