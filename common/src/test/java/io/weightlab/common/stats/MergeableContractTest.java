package io.weightlab.common.stats;

import io.weightlab.common.compare.PairSums;
import io.weightlab.common.model.DType;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link Mergeable} contract, checked the same way for every accumulator: the merge of the parts equals the
 * summary of the whole, empty is the identity, merge leaves its argument alone, copies are independent, and a
 * serialised summary reads back equal. "Equal" is on what each summary reports (its fingerprint), to 1e-12
 * relative: merging changes only the order of double additions.
 */
class MergeableContractTest {
    static final double TOL = 1e-12;

    /** How to build one kind of summary from values, and what it reports. */
    record Kind<T extends Mergeable<T>>(String name, Function<double[], T> of, java.util.function.Supplier<T> empty,
                                        Function<T, double[]> fingerprint) {}

    static double[] data(long seed, int n) {
        Random r = new Random(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 0.02 + (i % 97 == 0 ? 0.5 : 0)); // float32 values, a few outliers
        x[3] = 0.0;
        return x;
    }

    static double[] moments(MomentAccumulator m) {
        return new double[] {m.count(), m.mean(), m.variancePopulation(), m.skewness(), m.excessKurtosis(), m.min(), m.max(), m.l1(), m.l2(),
                m.zeroCount(), m.nanCount()};
    }

    static final List<Kind<?>> KINDS = List.of(
            new Kind<>("MomentAccumulator", x -> { MomentAccumulator m = new MomentAccumulator(); m.addBlock(x, 0, x.length); return m; },
                    MomentAccumulator::new, MergeableContractTest::moments),
            new Kind<>("QuantileSummary", MergeableContractTest::bucketed, QuantileSummary::bucketed,
                    q -> concat(q.quantiles(StatsRow.QUANTILE_PROBABILITIES), Arrays.stream(q.countsView()).asDoubleStream().toArray())),
            new Kind<>("QuantileSummary(BF16 exact)", MergeableContractTest::exactBf16,
                    () -> QuantileSummary.forType(DType.BF16, true), q -> q.quantiles(StatsRow.QUANTILE_PROBABILITIES)),
            new Kind<>("LogPowerTable", x -> new LogPowerTable(0.001).add(x, 0, x.length), () -> new LogPowerTable(0.001),
                    t -> concat(new double[] {t.count(), t.absSum()}, scaled(t.powerSums(0.7)), scaled(t.powerSums(2)), scaled(t.powerSums(7)))),
            new Kind<>("PairSums", x -> PairSums.first(x, partner(x)), PairSums::new,
                    p -> concat(moments(p.a), moments(p.b), new double[] {p.dot})));

    static QuantileSummary bucketed(double[] x) {
        QuantileSummary q = QuantileSummary.bucketed();
        q.addValues(x, 0, x.length);
        return q;
    }

    /** The values' BF16 bit patterns (truncated), little-endian, counted exactly. */
    static QuantileSummary exactBf16(double[] x) {
        byte[] raw = new byte[2 * x.length];
        for (int i = 0; i < x.length; i++) {
            int bits = Float.floatToRawIntBits((float) x[i]) >>> 16;
            raw[2 * i] = (byte) bits;
            raw[2 * i + 1] = (byte) (bits >>> 8);
        }
        QuantileSummary q = QuantileSummary.forType(DType.BF16, true);
        q.addRaw(raw, 0, x.length);
        return q;
    }

    static double[] partner(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = 1.5 * x[i] - 20 * x[i] * x[i]; // elementwise, so parts pair up as the whole does
        return y;
    }

    /** Power sums {s0, s1, s2, lnScale} as absolute sums, so two tables scaled differently compare. */
    static double[] scaled(double[] s) {
        double f = Math.exp(s[3]);
        return new double[] {s[0] * f, s[1] * f, s[2] * f};
    }

    static double[] concat(double[]... parts) {
        return Arrays.stream(parts).flatMapToDouble(Arrays::stream).toArray();
    }

    @Test
    void everyAccumulatorKeepsTheContract() throws Exception {
        for (Kind<?> k : KINDS) check(k);
    }

    <T extends Mergeable<T>> void check(Kind<T> k) throws Exception {
        double[] all = data(7, 30_000);
        double[] p1 = Arrays.copyOfRange(all, 0, 9_000), p2 = Arrays.copyOfRange(all, 9_000, 21_000), p3 = Arrays.copyOfRange(all, 21_000, 30_000);
        T whole = k.of().apply(all);
        double[] want = k.fingerprint().apply(whole);

        T merged = k.of().apply(p1).merge(k.of().apply(p2)).merge(k.of().apply(p3));
        close(want, k.fingerprint().apply(merged), k.name() + ": the parts merged in order give the whole");
        T other = k.of().apply(p3).merge(k.of().apply(p1).merge(k.of().apply(p2)));
        close(want, k.fingerprint().apply(other), k.name() + ": merging is associative and commutative (to rounding)");

        T empty = k.empty().get();
        assertTrue(empty.isEmpty(), k.name() + ": a new summary is empty");
        assertFalse(whole.isEmpty(), k.name() + ": a summary with data is not empty");
        close(want, k.fingerprint().apply(whole.copy().merge(k.empty().get())), k.name() + ": merging an empty summary changes nothing");
        close(want, k.fingerprint().apply(k.empty().get().merge(whole)), k.name() + ": an empty summary merged with x is x");

        T arg = k.of().apply(p2);
        byte[] before = bytes(arg);
        k.of().apply(p1).merge(arg);
        assertArrayEquals(before, bytes(arg), k.name() + ": merge leaves its argument unchanged");

        T copy = whole.copy();
        copy.merge(k.of().apply(p1));
        close(want, k.fingerprint().apply(whole), k.name() + ": a copy is independent of its original");

        @SuppressWarnings("unchecked")
        T back = (T) read(bytes(whole));
        assertArrayEquals(want, k.fingerprint().apply(back), k.name() + ": serialised and read back, the summary is the same (exactly)");
    }

    @Test
    void incompatibleSummariesRefuseToMerge() {
        LogPowerTable a = new LogPowerTable(0.0).add(new double[] {1, 2}, 0, 2), b = new LogPowerTable(0.5).add(new double[] {1, 2}, 0, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.merge(b));
        assertTrue(e.getMessage().contains("0.0") && e.getMessage().contains("0.5"), e.getMessage());
    }

    static void close(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i])) {
                assertTrue(Double.isNaN(got[i]), what + " [" + i + "]");
                continue;
            }
            assertEquals(want[i], got[i], TOL * Math.max(1, Math.abs(want[i])), what + " [" + i + "]");
        }
    }

    static byte[] bytes(Object o) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(b)) {
            out.writeObject(o);
        }
        return b.toByteArray();
    }

    static Object read(byte[] b) throws IOException, ClassNotFoundException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
            return in.readObject();
        }
    }
}
