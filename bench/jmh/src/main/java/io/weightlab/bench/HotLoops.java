package io.weightlab.bench;

import io.weightlab.common.model.DType;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.stats.GgMleSolver;
import io.weightlab.common.stats.LogPowerTable;
import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.synth.GgDrawAction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The per-element loops every job spends its CPU in, on one core, in elements per second (ops = elements):
 * decoding BF16/F16 to double, moment accumulation (Pébay block merge), the three generalized-Gaussian power sums
 * of one MLE step, and the synthetic GG draw. {@link #streamSumLongs} reads the same bytes as the BF16 decode
 * from a 256 MiB array (a STREAM-like sum), the memory bandwidth one core sees, for comparison.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgs = {"-Xmx2g", "--add-modules", "jdk.incubator.vector"})
public class HotLoops {
    static final int N = 1 << 20; // one writer/stats piece
    byte[] bf16 = new byte[2 * N], f16 = new byte[2 * N];
    double[] values = new double[N], out = new double[N];
    long[] big = new long[32 << 20]; // 256 MiB
    GgDrawAction draw = new GgDrawAction(1, "model.layers.0.mlp.down_proj.weight", 1.6, 0.02, 0);

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < N; i++) values[i] = r.nextGaussian() * 0.02;
        ElementEncoder.encode(DType.BF16, values, 0, N, bf16, 0);
        ElementEncoder.encode(DType.F16, values, 0, N, f16, 0);
        for (int i = 0; i < big.length; i++) big[i] = i;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public double decodeBf16() {
        ElementDecoder.decode(DType.BF16, bf16, 0, N, out, 0);
        return out[N - 1];
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public double decodeF16() {
        ElementDecoder.decode(DType.F16, f16, 0, N, out, 0);
        return out[N - 1];
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public double moments() {
        MomentAccumulator m = new MomentAccumulator();
        m.addBlock(values, 0, N);
        return m.m4();
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public double ggPowerSums() {
        return GgMleSolver.powerSums(values, 0, N, 0.0, 1.6)[2];
    }

    /** One value into the MLE's log-power table: what the whole fit costs per value on float32 data. */
    @Benchmark
    @OperationsPerInvocation(N)
    public long ggLogPowerTable() {
        return new LogPowerTable(0.0).add(values, 0, N).count();
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public double synthGgDraw() {
        draw.apply(0, out, N);
        return out[N - 1];
    }

    /** 256 MiB of longs summed: bytes per second / 2 is the BF16 elements per second memory alone allows. */
    @Benchmark
    @OperationsPerInvocation(32 << 20)
    public long streamSumLongs() {
        long s = 0;
        for (long v : big) s += v;
        return s;
    }
}
