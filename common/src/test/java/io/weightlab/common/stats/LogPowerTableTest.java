package io.weightlab.common.stats;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The table's power sums against the per-value sums Σ|x − μ|^β ln^j|x − μ| (one log and one exp per value), and
 * the MLE solved on it against the MLE over the values themselves.
 */
class LogPowerTableTest {

    /** Gaussian body, 0.1 % wide outliers, an exact zero (x = μ), NaN and ±Inf. */
    static double[] awkward(int n, long seed) {
        Random r = new Random(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 0.07) + (i % 1000 == 0 ? 50 * r.nextGaussian() : 0);
        x[6] = Double.NaN;
        x[7] = 0.003;
        x[8] = Double.POSITIVE_INFINITY;
        x[9] = Double.NEGATIVE_INFINITY;
        return x;
    }

    static double[] scaled(double[] s) {
        double f = Math.exp(s[3]);
        return new double[] {s[0] * f, s[1] * f, s[2] * f};
    }

    /** Relative 1e-12 over β from 0.05 to the bracket's 50 (the per-value reference itself carries ~1e-14). */
    @Test
    void powerSumsEqualThePerValueSumsAtAnyBeta() {
        double[] x = awkward(200_000, 3);
        double mu = 0.003;
        LogPowerTable t = new LogPowerTable(mu).add(x, 0, x.length);
        assertEquals(x.length - 4, t.count(), "NaN, ±Inf and the exact zero are left out");
        for (double b : new double[] {0.05, 0.3, 1, 1.7, 3, 10, 25, 50}) {
            double[] ours = scaled(t.powerSums(b));
            double[] ref = GgMleSolver.powerSums(x, 0, x.length, mu, b);
            for (int j = 0; j < 3; j++) {
                assertEquals(ref[j], ours[j], 1e-12 * Math.abs(ref[j]), "S" + j + " at beta " + b);
            }
            assertTrue(LogPowerTable.truncationBound(b) <= 2.5e-15, "stated Taylor bound at " + b);
        }
        double absSum = 0;
        for (double v : x) if (Double.isFinite(v)) absSum += Math.abs(v - mu);
        assertEquals(absSum, t.absSum(), 1e-13 * absSum);
    }

    /** Subnormal |x − μ| (below 2.2e-308) are binned 64 octaves down from their scaled bits, and sum exactly too. */
    @Test
    void subnormalDeviationsAreBinnedCorrectly() {
        double[] x = {1e-310, -2.5e-312, Double.MIN_VALUE, 1e-308, 3e-300, -0.7, 1.5, 2.2250738585072014E-308};
        LogPowerTable t = new LogPowerTable(0).add(x, 0, x.length);
        assertEquals(x.length, t.count());
        for (double b : new double[] {0.02, 0.5, 1, 4}) {
            double[] ours = scaled(t.powerSums(b));
            double[] ref = GgMleSolver.powerSums(x, 0, x.length, 0, b);
            for (int j = 0; j < 3; j++) assertEquals(ref[j], ours[j], 1e-12 * Math.abs(ref[j]), "S" + j + " at beta " + b);
        }
    }

    /** Tables of pieces merged (in any order), and a table sent through Java serialization, give the same sums. */
    @Test
    void mergedAndSerialisedTablesGiveTheSameSums() throws Exception {
        double[] x = awkward(90_000, 5);
        double mu = -0.01;
        LogPowerTable whole = new LogPowerTable(mu).add(x, 0, x.length);
        LogPowerTable a = new LogPowerTable(mu).add(x, 60_000, 30_000);
        LogPowerTable b = new LogPowerTable(mu).add(x, 0, 1000);
        LogPowerTable c = new LogPowerTable(mu).add(x, 1000, 59_000);
        LogPowerTable merged = new LogPowerTable(mu).merge(a).merge(b).merge(c);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(bytes)) {
            o.writeObject(merged);
        }
        LogPowerTable back;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (LogPowerTable) in.readObject();
        }
        assertEquals(whole.count(), back.count());
        assertEquals(whole.occupiedBins(), back.occupiedBins());
        for (double beta : new double[] {0.5, 2, 40}) {
            double[] w = scaled(whole.powerSums(beta)), m = scaled(back.powerSums(beta));
            for (int j = 0; j < 3; j++) assertEquals(w[j], m[j], 1e-13 * Math.abs(w[j]), "S" + j + " at " + beta);
        }
        assertTrue(bytes.size() < 1.01 * (8 * 11 + 4) * whole.occupiedBins() + 1024,
                "serialised as its occupied rows: " + bytes.size() + " bytes for " + whole.occupiedBins() + " bins");
    }

    /** A value of 1e200 at β = 50 would overflow e^{βl}; the scaled sums do not, and the fit stays finite. */
    @Test
    void heavyOutliersDoNotOverflow() {
        double[] x = GgFitTest.sample(2.0, 1, 10_000, 3);
        x[17] = 1e200;
        LogPowerTable t = new LogPowerTable(0).add(x, 0, x.length);
        double[] s = t.powerSums(50);
        assertTrue(Double.isFinite(s[0]) && Double.isFinite(s[1]) && Double.isFinite(s[2]) && s[3] > 700, java.util.Arrays.toString(s));
        assertEquals(Math.log(1e200), s[1] / s[0], 0.01, "S1/S0 is the outlier's log");
        GgMleSolver mle = GgMleSolver.solve(x.length, 1.0, t);
        assertTrue(Double.isFinite(mle.beta()) && mle.beta() > 0 && Double.isFinite(mle.alpha()), mle.status());
    }

    /**
     * Every 2-D float32 tensor of the fixture, sliced into 64 KiB pieces as the stats job reads it: the MLE on the
     * merged table equals the MLE over the values (per-value exp/log sums) to 1e-9 in β and α.
     */
    @Test
    void fixtureMleOnTheTableEqualsTheMleOnTheValues() {
        Configuration conf = new Configuration();
        Checkpoint c = CheckpointCatalog.open(conf, Fixtures.dir("all-minilm-l6-v2").toUri().toString());
        int checked = 0;
        try (RangeReader r = new RangeReader(conf)) {
            for (TensorInfo t : c.tensors()) {
                if (t.shape().length != 2 || t.elementCount() < 1000) continue;
                int n = (int) t.elementCount();
                double[] x = new double[n];
                ElementDecoder.decode(t.dtype(), r.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, n, x, 0);
                GgFit ref = GgFit.fromValues(x);
                MomentAccumulator m = new MomentAccumulator();
                m.addBlock(x, 0, n);
                LogPowerTable table = new LogPowerTable(m.mean());
                for (StatsUnit u : StatsUnit.slice(t, 64 << 10, null)) table.merge(SliceStatistics.logPowerTable(r, u, m.mean()));
                double m1 = table.absSum() / n;
                GgMleSolver mle = GgMleSolver.solve(n, GeneralizedGaussian.betaFromAbsDeviation(m.variancePopulation(), m1), table);
                assertEquals("converged", mle.status(), t.name());
                assertEquals(ref.beta(), mle.beta(), 1e-9 * ref.beta(), t.name() + " beta");
                assertEquals(ref.alpha(), mle.alpha(), 1e-9 * ref.alpha(), t.name() + " alpha");
                // Σ|x − μ| against a compensated sum; the moment β inverts a ratio that amplifies the naive per-value
                // sum's own ~1e-12 rounding, hence 1e-8 there
                double sum = 0, comp = 0;
                for (double v : x) {
                    double y = Math.abs(v - m.mean()) - comp, s = sum + y;
                    comp = (s - sum) - y;
                    sum = s;
                }
                assertEquals(sum, table.absSum(), 1e-14 * sum, t.name() + " sum of |x - mu|");
                assertEquals(ref.betaMoment(), GeneralizedGaussian.betaFromAbsDeviation(m.variancePopulation(), m1),
                        1e-8 * ref.betaMoment(), t.name() + " moment beta");
                checked++;
            }
        }
        assertEquals(38, checked, "the 40 2-D tensors less position_ids (1 x 512) and token_type_embeddings (2 x 384)");
    }
}
