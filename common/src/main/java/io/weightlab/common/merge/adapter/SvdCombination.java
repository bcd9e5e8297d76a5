package io.weightlab.common.merge.adapter;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.LoraPair;
import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.LowRankSpectrum;

import java.util.Arrays;
import java.util.List;

/**
 * PEFT's svd, ties_svd, dare_linear_svd, dare_ties_svd and magnitude_prune_svd: ΔW_k = s_k B_k A_k merged by the
 * function with the user's weights, then its rank-r truncated SVD as B = U_r S_r, A = V_rᵀ (PEFT's split), with
 * PEFT's optional clamp of both to ±(the clamp quantile of their values). "svd" alone never forms ΔW: Σ w_k s_k B_k A_k
 * is already a product of stacked factors whose SVD comes from two thin QRs and a small core. Each singular pair's sign
 * is fixed so that V's largest-magnitude entry is positive (LAPACK's is arbitrary; the clamp depends on it).
 */
final class SvdCombination implements AdapterCombination {
    private static final long serialVersionUID = 1L;

    private final PeftMergeFunctions.Spec function;
    private final int svdRank;
    private final double clamp;   // NaN: none

    SvdCombination(PeftMergeFunctions.Spec function, int svdRank, double clamp) {
        this.function = function;
        this.svdRank = svdRank;
        this.clamp = clamp;
    }

    @Override
    public int newRank(int[] configRanks) {
        if (svdRank > 0) return svdRank;
        int r = 0;
        for (int x : configRanks) r = Math.max(r, x);
        return r;
    }

    @Override public boolean formsDelta() { return function.elementwise(); }

    @Override
    public void checkModule(String module, int[] ranks, int in, int out, int newRank) {
        if (newRank > Math.min(in, out)) {
            throw new UsageException(module + ": svd rank " + newRank + " exceeds the module's smaller side " + Math.min(in, out) + " [" + out + " x " + in
                    + "]; pass svd_rank ≤ " + Math.min(in, out) + " (rule: SvdRank)");
        }
    }

    @Override
    public LoraPair combine(String module, List<LoraPair> present, double[] weights, int newRank, long seed) {
        int in = present.get(0).in(), out = present.get(0).out();
        checkModule(module, null, in, out, newRank);
        Lapack.Factors f = formsDelta() ? denseSvd(module, present, weights, newRank, seed, in, out) : lowRankSvd(present, weights, newRank, in, out);
        int r = newRank;
        double[] b = new double[out * r], a = new double[r * in];
        for (int t = 0; t < r; t++) {
            double[] vt = f.vt();
            double big = 0;
            for (int j = 0; j < in; j++) if (Math.abs(vt[t * in + j]) > Math.abs(big)) big = vt[t * in + j];
            double sign = big < 0 ? -1 : 1;
            for (int j = 0; j < in; j++) a[t * in + j] = sign * vt[t * in + j];
            for (int i = 0; i < out; i++) b[i * r + t] = sign * f.u()[i * f.k() + t] * f.s()[t];
        }
        if (!Double.isNaN(clamp)) clamp(a, b, clamp);
        return new LoraPair(a, b, r, in, out, 1.0);
    }

    /** ΔW merged densely (PEFT's way; pruning and sign election are elementwise on ΔW), then its top-r SVD. */
    private Lapack.Factors denseSvd(String module, List<LoraPair> present, double[] weights, int r, long seed, int in, int out) {
        double[][] deltas = new double[present.size()][];
        for (int k = 0; k < deltas.length; k++) deltas[k] = present.get(k).delta();
        double[] dw = function.merge(deltas, weights, seed, module + ".delta");
        Arrays.fill(deltas, null);
        // the Gram route is exact to ε·σ₁²/gap in the kept triplets; a full dgesdd when most of the spectrum is kept
        return 2 * r <= Math.min(in, out) ? Lapack.topSvd(dw, out, in, r) : truncate(Lapack.svd(dw, out, in), r);
    }

    /** Σ w_k s_k B_k A_k = B'·A' with B' = [B_k], A' = [w_k s_k A_k] (the cat factors): its SVD from the factors, zero-padded to r. */
    private static Lapack.Factors lowRankSvd(List<LoraPair> present, double[] weights, int r, int in, int out) {
        LoraPair st = new CatCombination().combine("", present, weights, rankSum(present), 0);
        Lapack.Factors f = LowRankSpectrum.factors(st.b(), out, st.r(), st.a(), in);
        int keep = Math.min(r, f.k());
        double[] u = new double[out * r], vt = new double[r * in], s = new double[r];
        System.arraycopy(f.s(), 0, s, 0, keep);
        System.arraycopy(f.vt(), 0, vt, 0, keep * in);
        for (int i = 0; i < out; i++) System.arraycopy(f.u(), i * f.k(), u, i * r, keep);
        return new Lapack.Factors(u, s, vt, out, in);
    }

    private static int rankSum(List<LoraPair> present) {
        int r = 0;
        for (LoraPair p : present) r += p.r();
        return r;
    }

    private static Lapack.Factors truncate(Lapack.Factors f, int r) {
        int rows = f.rows(), cols = f.cols(), k = f.k();
        double[] u = new double[rows * r], vt = Arrays.copyOf(f.vt(), r * cols);
        for (int i = 0; i < rows; i++) System.arraycopy(f.u(), i * k, u, i * r, r);
        return new Lapack.Factors(u, Arrays.copyOf(f.s(), r), vt, rows, cols);
    }

    /** PEFT's clamp: hi = the q-quantile (linear interpolation, torch.quantile's) of all values of B and A; both to [−hi, hi]. */
    static void clamp(double[] a, double[] b, double q) {
        double[] all = new double[a.length + b.length];
        System.arraycopy(b, 0, all, 0, b.length);
        System.arraycopy(a, 0, all, b.length, a.length);
        Arrays.sort(all);
        double pos = q * (all.length - 1);
        int lo = (int) Math.floor(pos);
        double hi = lo + 1 < all.length ? all[lo] + (pos - lo) * (all[lo + 1] - all[lo]) : all[lo];
        for (int i = 0; i < a.length; i++) a[i] = Math.max(-hi, Math.min(hi, a[i]));
        for (int i = 0; i < b.length; i++) b[i] = Math.max(-hi, Math.min(hi, b[i]));
    }
}
