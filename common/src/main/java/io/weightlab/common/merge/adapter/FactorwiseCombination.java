package io.weightlab.common.merge.adapter;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.LoraPair;

import java.util.List;

/**
 * PEFT's linear, ties, dare_linear, dare_ties and magnitude_prune: the merge function applied to the A factors and to
 * the B factors on their own, with weights √|w s| on B and sign(w s)·√|w s| on A (so B·A carries w·s once, with its
 * sign). Not ΔW's merge: PEFT calls it a rough approximation; it keeps the rank and never forms ΔW.
 */
final class FactorwiseCombination implements AdapterCombination {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final PeftMergeFunctions.Spec function;

    FactorwiseCombination(String name, PeftMergeFunctions.Spec function) {
        this.name = name;
        this.function = function;
    }

    @Override
    public int newRank(int[] configRanks) { return AdapterCombination.sameRank(name, configRanks); }

    @Override
    public void checkModule(String module, int[] ranks, int in, int out, int newRank) {
        for (int i = 0; i < ranks.length; i++) {
            if (ranks[i] != newRank) throw new UsageException(module + ": rank " + ranks[i] + " in one adapter, " + newRank + " in the config ranks (rule: SameRank)");
        }
    }

    @Override
    public LoraPair combine(String module, List<LoraPair> present, double[] weights, int newRank, long seed) {
        int k = present.size(), in = present.get(0).in(), out = present.get(0).out();
        double[][] as = new double[k][], bs = new double[k][];
        double[] wa = new double[k], wb = new double[k];
        int[] ranks = new int[k];
        for (int i = 0; i < k; i++) ranks[i] = present.get(i).r();
        checkModule(module, ranks, in, out, newRank);
        for (int i = 0; i < k; i++) {
            LoraPair p = present.get(i);
            as[i] = p.a().clone();
            bs[i] = p.b().clone();
            double ws = weights[i] * p.scaling();
            wb[i] = Math.sqrt(Math.abs(ws));
            wa[i] = ws >= 0 ? wb[i] : -wb[i];
        }
        double[] a = function.merge(as, wa, seed, module + ".lora_A");
        double[] b = function.merge(bs, wb, seed, module + ".lora_B");
        return new LoraPair(a, b, newRank, in, out, 1.0);
    }
}
