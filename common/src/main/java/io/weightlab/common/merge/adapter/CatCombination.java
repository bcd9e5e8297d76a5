package io.weightlab.common.merge.adapter;

import io.weightlab.common.fed.LoraPair;

import java.util.List;

/**
 * PEFT's "cat": A = [w_1 s_1 A_1; …; w_K s_K A_K], B = [B_1 | … | B_K], zero-padded to the rank Σ r_k, so B·A is
 * Σ w_k s_k B_k A_k exactly. Ranks may differ.
 */
final class CatCombination implements AdapterCombination {
    private static final long serialVersionUID = 1L;

    @Override
    public int newRank(int[] configRanks) {
        int r = 0;
        for (int x : configRanks) r += x;
        return r;
    }

    @Override
    public LoraPair combine(String module, List<LoraPair> present, double[] weights, int newRank, long seed) {
        int in = present.get(0).in(), out = present.get(0).out();
        double[] a = new double[newRank * in], b = new double[out * newRank];
        int off = 0;
        for (int k = 0; k < present.size(); k++) {
            LoraPair p = present.get(k);
            double f = weights[k] * p.scaling();
            for (int t = 0; t < p.r(); t++) for (int j = 0; j < in; j++) a[(off + t) * in + j] = f * p.a()[t * in + j];
            for (int i = 0; i < out; i++) System.arraycopy(p.b(), i * p.r(), b, i * newRank + off, p.r());
            off += p.r();
        }
        return new LoraPair(a, b, newRank, in, out, 1.0);
    }
}
