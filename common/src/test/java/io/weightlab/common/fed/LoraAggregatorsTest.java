package io.weightlab.common.fed;

import io.weightlab.common.linalg.Lapack;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Oracles of docs/algorithms.md §5.1 and docs/design.md (What we compare against §4) on random client adapters, heterogeneous ranks where allowed. */
class LoraAggregatorsTest {
    static final int IN = 40, OUT = 30;
    static final double[] P = {0.2, 0.3, 0.5};

    static LoraPair client(int r, double s, long seed) {
        SplittableRandom g = new SplittableRandom(seed);
        double[] a = new double[r * IN], b = new double[OUT * r];
        for (int i = 0; i < a.length; i++) a[i] = g.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = g.nextGaussian();
        return new LoraPair(a, b, r, IN, OUT, s);
    }

    static double[] exact(List<LoraPair> cs) {
        double[] d = new double[OUT * IN];
        for (int k = 0; k < cs.size(); k++) {
            double[] dk = cs.get(k).delta();
            for (int i = 0; i < d.length; i++) d[i] += P[k] * dk[i];
        }
        return d;
    }

    static double frob(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (x[i] - y[i]) * (x[i] - y[i]);
        return Math.sqrt(s);
    }

    @Test
    void stackingIsExactAndSvdIsTheOptimalRankRApproximation() {
        List<LoraPair> cs = List.of(client(4, 2.0, 1), client(6, 0.5, 2), client(2, 1.0, 3)); // heterogeneous ranks
        double[] want = exact(cs);
        LoraPair st = new StackingAggregator().aggregate(cs, P);
        assertEquals(12, st.r());
        assertTrue(frob(st.delta(), want) < 1e-12 * frob(want, new double[want.length]), "stacking reproduces Σ p_k s_k B_k A_k");
        double[] sv = Lapack.singularValues(want, OUT, IN);
        for (int r : new int[] {3, 6}) {
            LoraPair sr = new SvdRefactorAggregator(r).aggregate(cs, P);
            double tail = 0;
            for (int i = r; i < sv.length; i++) tail += sv[i] * sv[i];
            assertEquals(Math.sqrt(tail), frob(sr.delta(), want), 1e-10 * sv[0], "rank " + r + ": error = sqrt(Σ_{i>r} σ_i²) (Eckart–Young)");
        }
    }

    @Test
    void loraFairNeverDoesWorseThanFedItAndIdenticalClientsAreUnchanged() {
        List<LoraPair> cs = List.of(client(5, 2.0, 4), client(5, 2.0, 5), client(5, 2.0, 6));
        double[] want = exact(cs);
        LoraPair fedit = new FedItAggregator().aggregate(cs, P);
        LoraPair fair = new LoraFairAggregator(0.0).aggregate(cs, P);
        double eFedit = frob(fedit.delta(), want), eFair = frob(fair.delta(), want);
        assertTrue(eFair <= eFedit, "LoRA-FAIR residual " + eFair + " <= FedIT's " + eFedit);
        assertTrue(eFair < eFedit - 1e-6 * eFedit, "and strictly smaller on independent clients: " + eFair + " vs " + eFedit);
        // λ = 0: (ΔW/s − B'Ā)Āᵀ = 0, the least-squares normal equations
        double s = fair.scaling();
        double[] res = new double[want.length], d = fair.delta();
        for (int i = 0; i < res.length; i++) res[i] = (want[i] - d[i]) / s;
        double[] normal = Lapack.multiply(res, false, fair.a(), true, OUT, fair.r(), IN);
        double worst = 0;
        for (double x : normal) worst = Math.max(worst, Math.abs(x));
        assertTrue(worst < 1e-9, "normal equations hold: " + worst);

        List<LoraPair> same = new ArrayList<>();
        for (int k = 0; k < 3; k++) same.add(client(5, 2.0, 7));
        for (LoraAggregator agg : List.of(new FedItAggregator(), new FfaAggregator(), new LoraFairAggregator(1e-6))) {
            LoraPair o = agg.aggregate(same, P);
            LoraPair c = same.get(0);
            for (int i = 0; i < c.a().length; i++) assertEquals(c.a()[i], o.a()[i], 1e-15 * Math.abs(c.a()[i]) + 1e-300, agg.describe());
            for (int i = 0; i < c.b().length; i++) assertEquals(c.b()[i], o.b()[i], 1e-14 * (Math.abs(c.b()[i]) + 1), agg.describe());
        }
    }
}
