package io.weightlab.common.compare;

import io.weightlab.common.stats.Mergeable;
import io.weightlab.common.stats.MomentAccumulator;


/**
 * Sums over the elements of a reference tensor a and a compared tensor b (same name and shape), in double, merged
 * slice by slice. Pass 1: moments of a and b and ⟨a, b⟩. Pass 2, once the norms are known: ‖â − b̂‖² with the
 * tensor's own norms and with its block's (layer's) norms, and ‖b − a‖², which give the rotation
 * δ = ½‖â − b̂‖² without the cancellation of 1 − cos near 0 (docs/algorithms.md §7.1).
 */
public final class PairSums implements Mergeable<PairSums> {
    public final MomentAccumulator a = new MomentAccumulator(), b = new MomentAccumulator();
    public double dot;
    public double unitDiffSq, blockUnitDiffSq, diffSq;

    /** Pass 1 over one slice. */
    public static PairSums first(double[] x, double[] y) {
        PairSums s = new PairSums();
        s.a.addBlock(x, 0, x.length);
        s.b.addBlock(y, 0, y.length);
        double d = 0;
        for (int i = 0; i < x.length; i++) d += x[i] * y[i];
        s.dot = d;
        return s;
    }

    /** Pass 2 over one slice: {@code na, nb} the tensor's norms, {@code ba, bb} its block's. */
    public static PairSums second(double[] x, double[] y, double na, double nb, double ba, double bb) {
        PairSums s = new PairSums();
        double u = 0, v = 0, w = 0;
        double ia = na > 0 ? 1 / na : 0, ib = nb > 0 ? 1 / nb : 0, ja = ba > 0 ? 1 / ba : 0, jb = bb > 0 ? 1 / bb : 0;
        for (int i = 0; i < x.length; i++) {
            double p = x[i] * ia - y[i] * ib, q = x[i] * ja - y[i] * jb, r = y[i] - x[i];
            u += p * p;
            v += q * q;
            w += r * r;
        }
        s.unitDiffSq = u;
        s.blockUnitDiffSq = v;
        s.diffSq = w;
        return s;
    }

    @Override
    public boolean isEmpty() {
        return a.isEmpty() && b.isEmpty() && dot == 0 && unitDiffSq == 0 && blockUnitDiffSq == 0 && diffSq == 0;
    }

    @Override
    public PairSums copy() {
        return new PairSums().merge(this);
    }

    /** In slice order: moments merge with Pébay's formulas, sums add. */
    @Override
    public PairSums merge(PairSums o) {
        a.merge(o.a);
        b.merge(o.b);
        dot += o.dot;
        unitDiffSq += o.unitDiffSq;
        blockUnitDiffSq += o.blockUnitDiffSq;
        diffSq += o.diffSq;
        return this;
    }

    /** δ = ½‖â − b̂‖², in [0, 2]; NaN when either tensor is all zeros (undefined). */
    public static double rotation(double unitDiffSq, double na, double nb) {
        return na > 0 && nb > 0 ? 0.5 * unitDiffSq : Double.NaN;
    }
}
