/*
 * The per-client-value cost of a FedAvg round's arithmetic outside Spark, one thread: every F32 tensor of K clients
 * read in steps (ranged reads through RangeReader), decoded, validated (Σ (x − r)²), combined (weighted mean) and
 * diagnosed (Σ (x − y)²) in cache-sized blocks, as TensorAggregation does; prints ns per client value for the
 * arithmetic and for the reads. "fuse" decodes, validates and accumulates in one loop per client instead.
 *   bash bench/fed_arith_loop.sh [K] [BLOCK] [sep|fuse] [STEP]      (clients from bench/fedavg_vs_numpy.sh)
 */
import io.weightlab.common.io.*;
import io.weightlab.common.model.*;
import org.apache.hadoop.conf.Configuration;
import java.lang.invoke.*;
import java.nio.ByteOrder;
import java.util.*;
public class FedArithLoop {
    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static double sq(double[] x, double[] r, int len) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0; int i = 0;
        for (; i + 3 < len; i += 4) { double d0 = x[i] - r[i], d1 = x[i + 1] - r[i + 1], d2 = x[i + 2] - r[i + 2], d3 = x[i + 3] - r[i + 3];
            s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3; }
        for (; i < len; i++) { double d = x[i] - r[i]; s0 += d * d; }
        return (s0 + s1) + (s2 + s3);
    }
    // decode + (x-ref)^2 + y += p x in one loop
    static double fused(byte[] raw, int off, int n, double[] x, double[] ref, double[] y, double p, boolean first) {
        double s0 = 0, s1 = 0; int i = 0;
        for (; i + 1 < n; i += 2) {
            double a = Float.intBitsToFloat((int) INT.get(raw, off + 4 * i)), b = Float.intBitsToFloat((int) INT.get(raw, off + 4 * i + 4));
            x[i] = a; x[i + 1] = b;
            double d0 = a - ref[i], d1 = b - ref[i + 1];
            s0 += d0 * d0; s1 += d1 * d1;
            if (first) { y[i] = p * a; y[i + 1] = p * b; } else { y[i] += p * a; y[i + 1] += p * b; }
        }
        for (; i < n; i++) { double a = Float.intBitsToFloat((int) INT.get(raw, off + 4 * i)); x[i] = a; double d = a - ref[i]; s0 += d * d; if (first) y[i] = p * a; else y[i] += p * a; }
        return s0 + s1;
    }
    public static void main(String[] a) throws Exception {
        Configuration conf = new Configuration();
        String dir = a[0]; int K = Integer.parseInt(a[1]); int block = Integer.parseInt(a[2]); boolean fuse = a[3].equals("fuse");
        List<Checkpoint> cs = new ArrayList<>();
        for (int k = 0; k < K; k++) cs.add(CheckpointCatalog.open(conf, dir + "/c" + k + "/model.safetensors"));
        Checkpoint ref = CheckpointCatalog.open(conf, dir + "/../fed-base/model.safetensors");
        double p = 1.0 / K;
        int step = a.length > 4 ? Integer.parseInt(a[4]) : (int) Math.max(4096, Math.min(1 << 20, (64L << 20) / (8L * (K + 3))));
        byte[][] raw = new byte[K][step * 4]; byte[] rawRef = new byte[step * 4];
        double[][] xs = new double[K][block]; double[] r = new double[block], y = new double[block];
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime(); long vals = 0; double chk = 0; long tr = 0;
            try (RangeReader rr = new RangeReader(conf)) {
            for (TensorInfo t : cs.get(0).tensors()) {
                long n = t.elementCount(); TensorInfo rt = ref.tensor(t.name());
                for (long f = 0; f < n; f += step) {
                    int len = (int) Math.min(step, n - f);
                    long q = System.nanoTime();
                    rr.read(rt.file(), rt.dataBegin() + 4 * f, rawRef, 0, len * 4);
                    for (int c = 0; c < K; c++) { TensorInfo ti = cs.get(c).tensor(t.name()); rr.read(ti.file(), ti.dataBegin() + 4 * f, raw[c], 0, len * 4); }
                    tr += System.nanoTime() - q;
                    for (int b = 0; b < len; b += block) {
                        int m = Math.min(block, len - b);
                        ElementDecoder.decode(DType.F32, rawRef, 4 * b, m, r, 0);
                        if (fuse) {
                            for (int c = 0; c < K; c++) chk += fused(raw[c], 4 * b, m, xs[c], r, y, p, c == 0);
                        } else {
                            for (int c = 0; c < K; c++) { ElementDecoder.decode(DType.F32, raw[c], 4 * b, m, xs[c], 0); chk += sq(xs[c], r, m); }
                            for (int i = 0; i < m; i++) y[i] = p * xs[0][i];
                            for (int c = 1; c < K; c++) { double[] x = xs[c]; for (int i = 0; i < m; i++) y[i] += p * x[i]; }
                        }
                        for (int c = 0; c < K; c++) chk += sq(xs[c], y, m);
                    }
                    vals += (long) len * K;
                }
            }
            }
            long tt = System.nanoTime() - t0;
            System.out.printf("block %d %s: %.3f ns per client value, read %.3f (%g)%n", block, fuse ? "fused" : "separate", (tt - tr) / (double) vals, tr / (double) vals, chk);
        }
    }
}
