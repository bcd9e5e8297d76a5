package io.weightlab.common.linalg;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Metrics of one matrix's singular values, with WeightWatcher's names and definitions where they overlap
 * (docs/algorithms.md §7.4–7.5): ESD eigenvalues are λ = σ², spectral_norm = λ_max, norm = Σλ, entropy is WW's
 * normalized matrix entropy; effective_rank is Roy–Vetterli's (on σ, not σ²).
 */
public final class SpectralMetrics {
    public static final int[] ENERGY_K = {1, 8, 16, 64};

    private SpectralMetrics() {}

    /** @param sv singular values, descending; {@code n} = max(rows, cols) for the numerical rank */
    public static Map<String, Object> of(double[] sv, int n, boolean fitPowerLaw) {
        return of(sv, n, fitPowerLaw ? PowerLawOptions.DEFAULT : null);
    }

    /** @param fit how to fit the tail (docs/algorithms.md §7.6), null for no fit; the default adds no columns */
    public static Map<String, Object> of(double[] sv, int n, PowerLawOptions fit) {
        Map<String, Object> m = new LinkedHashMap<>();
        int k = sv.length;
        double svMax = k == 0 ? 0 : sv[0], svMin = k == 0 ? 0 : sv[k - 1];
        double sumSq = 0, sum = 0;
        for (double s : sv) {
            sumSq += s * s;
            sum += s;
        }
        double lambdaMax = svMax * svMax;
        m.put("num_evals", k);
        m.put("sv_max", svMax);
        m.put("sv_min", svMin);
        m.put("spectral_norm", lambdaMax);
        m.put("norm", sumSq);
        m.put("frobenius_norm", Math.sqrt(sumSq));
        m.put("log_norm", Math.log10(sumSq));
        m.put("log_spectral_norm", Math.log10(lambdaMax));
        m.put("stable_rank", lambdaMax > 0 ? sumSq / lambdaMax : Double.NaN);
        double er = 0;
        for (double s : sv) {
            double p = s / sum;
            if (p > 0) er -= p * Math.log(p);
        }
        m.put("effective_rank", sum > 0 ? Math.exp(er) : Double.NaN);
        double tol = svMax * n * Math.ulp(1.0);
        int rank = 0;
        for (double s : sv) if (s > tol) rank++;
        m.put("matrix_rank", rank);
        double ent = 0;
        for (double s : sv) {
            double p = s * s / sumSq + 1e-10;
            ent -= p * Math.log(p);
        }
        m.put("entropy", ent / Math.log(rank + 1e-10));
        m.put("condition_number", svMin > 0 ? svMax / svMin : Double.POSITIVE_INFINITY);
        int weak = 0;
        for (double s : sv) if (s * s < 1e-6) weak++;
        m.put("weak_rank_loss", weak);
        for (int e : ENERGY_K) {
            double top = 0;
            for (int i = 0; i < Math.min(e, k); i++) top += sv[i] * sv[i];
            m.put("energy_top_" + e, sumSq > 0 ? top / sumSq : Double.NaN);
        }
        if (fit != null) {
            double[] evals = new double[k];
            for (int i = 0; i < k; i++) evals[i] = sv[i] * sv[i];
            TailFits tails = TailFits.of(evals, fit);
            PowerLawFit pl = tails.pl();
            m.put("alpha", pl.alpha());
            m.put("xmin", pl.xmin());
            m.put("D", pl.d());
            m.put("sigma", pl.sigma());
            m.put("num_pl_spikes", pl.numSpikes());
            m.put("alpha_weighted", pl.alpha() * Math.log10(lambdaMax));
            double an = 0;
            for (double l : evals) an += Math.pow(l, pl.alpha());
            m.put("log_alpha_norm", Math.log10(an));
            m.put("alpha_status", pl.alpha() < 0 ? "fit failed" : pl.alpha() < 2 ? "over-trained" : pl.alpha() > 6 ? "under-trained" : "ok");
            if (!fit.isDefault()) tails.putColumns(m);
        }
        return m;
    }
}
