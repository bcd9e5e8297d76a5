package io.weightlab.common.merge;

import io.weightlab.common.stats.GeneralizedGaussian;
import io.weightlab.common.stats.MomentAccumulator;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Data-free metrics of one candidate's merged tensor m against the base b and the task vectors τ_i = x_i − b of the
 * screen's models (docs/algorithms.md §32.8): moments of m and of Δ = m − b (Pébay's mergeable moments, so ‖·‖,
 * std and kurtosis come from one pass), Δ·τ_i, and per input the counts of elements where Δ and τ_i are both nonzero
 * and where they have the same sign. One instance per (candidate, tensor, slice), merged in slice order on the driver,
 * so the numbers do not depend on which task ran what. Δ's stable rank and energy rank are set from its singular
 * values when the tensor was screened whole ({@code --spectra}); with {@code --spectra-alpha} also the merged matrix's
 * WeightWatcher α ({@link ScreenAlpha}).
 */
public final class ScreenMetrics implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The energy rank's threshold: the smallest r whose top-r singular values hold this fraction of Σσ². */
    public static final double ENERGY = 0.9;

    public final MomentAccumulator merged = new MomentAccumulator();
    public final MomentAccumulator delta = new MomentAccumulator();
    public final double[] dot;   // Σ Δ·τ_i
    public final long[] both;    // #{Δ ≠ 0 and τ_i ≠ 0}
    public final long[] same;    // of those, #{sign Δ = sign τ_i}
    public double stableRank = Double.NaN;
    public long energyRank = -1;
    public double sigmaMax = Double.NaN;
    /** WeightWatcher's power-law α of the merged matrix ({@link ScreenAlpha}); NaN when not computed or the fit failed. */
    public double alpha = Double.NaN;

    public ScreenMetrics(int inputs) {
        dot = new double[inputs];
        both = new long[inputs];
        same = new long[inputs];
    }

    /** Adds elements [0, len): {@code b} the base, {@code m} the merged values, {@code taus[i]} τ_i; {@code scratch} holds Δ. */
    public void add(double[] b, double[] m, double[][] taus, int len, double[] scratch) {
        for (int j = 0; j < len; j++) scratch[j] = m[j] - b[j];
        merged.addBlock(m, 0, len);
        delta.addBlock(scratch, 0, len);
        for (int i = 0; i < dot.length; i++) {
            double[] t = taus[i];
            double s = 0;
            long nb = 0, ns = 0;
            for (int j = 0; j < len; j++) {
                double d = scratch[j], x = t[j];
                s += d * x;
                // without branches: signs of task vectors are near coin flips, and mispredictions cost more than the sums
                nb += (d != 0) & (x != 0) ? 1 : 0;
                ns += ((d > 0) & (x > 0)) | ((d < 0) & (x < 0)) ? 1 : 0;
            }
            dot[i] += s;
            both[i] += nb;
            same[i] += ns;
        }
    }

    /** Δ's stable rank ‖Δ‖_F²/σ₁² and energy rank from its singular values (descending). */
    public void spectrum(double[] sv) {
        double total = 0;
        for (double s : sv) total += s * s;
        sigmaMax = sv.length == 0 ? 0 : sv[0];
        double fro2 = delta.l2() * delta.l2();
        stableRank = sigmaMax > 0 ? fro2 / (sigmaMax * sigmaMax) : Double.NaN;
        long r = 0;
        double acc = 0;
        if (total > 0) {
            while (r < sv.length && acc < ENERGY * total) acc += sv[(int) r] * sv[(int) r++];
        }
        energyRank = r;
    }

    /** Merges the next slice's metrics (call in slice order). */
    public ScreenMetrics merge(ScreenMetrics o) {
        merged.merge(o.merged);
        delta.merge(o.delta);
        for (int i = 0; i < dot.length; i++) {
            dot[i] += o.dot[i];
            both[i] += o.both[i];
            same[i] += o.same[i];
        }
        if (!Double.isNaN(o.stableRank)) {
            stableRank = o.stableRank;
            energyRank = o.energyRank;
            sigmaMax = o.sigmaMax;
        }
        if (!Double.isNaN(o.alpha)) alpha = o.alpha;
        return this;
    }

    /** The candidate-independent side of one tensor: moments of the base and of every model, and ‖τ_i‖². */
    public static final class Sources implements Serializable {
        private static final long serialVersionUID = 1L;
        public final MomentAccumulator base = new MomentAccumulator();
        public final MomentAccumulator[] models;
        public final double[] tauSq;

        public Sources(int inputs) {
            models = new MomentAccumulator[inputs];
            for (int i = 0; i < inputs; i++) models[i] = new MomentAccumulator();
            tauSq = new double[inputs];
        }

        /** Adds elements [0, len) of the base, the models as stored and their τ. */
        public void add(double[] b, double[][] xs, double[][] taus, int len) {
            base.addBlock(b, 0, len);
            for (int i = 0; i < models.length; i++) {
                models[i].addBlock(xs[i], 0, len);
                double s = 0;
                for (int j = 0; j < len; j++) s += taus[i][j] * taus[i][j];
                tauSq[i] += s;
            }
        }

        public Sources merge(Sources o) {
            base.merge(o.base);
            for (int i = 0; i < models.length; i++) {
                models[i].merge(o.models[i]);
                tauSq[i] += o.tauSq[i];
            }
            return this;
        }
    }

    /** The (candidate, tensor) row of screen_tensors.csv (docs/schema.md): ratios, cosines and sign agreement per model. */
    public Map<String, Object> row(Sources s) {
        Map<String, Object> r = new LinkedHashMap<>();
        double bNorm = s.base.l2(), bStd = s.base.stdPopulation();
        double dNorm = delta.l2();
        r.put("norm", merged.l2());
        r.put("delta_norm", dNorm);
        r.put("rel_change", bNorm > 0 ? dNorm / bNorm : null);
        r.put("std_ratio_base", bStd > 0 ? merged.stdPopulation() / bStd : null);
        List<Double> normRatio = new ArrayList<>(), stdRatio = new ArrayList<>(), cos = new ArrayList<>(), sign = new ArrayList<>();
        for (int i = 0; i < dot.length; i++) {
            double xn = s.models[i].l2(), xs = s.models[i].stdPopulation(), tn = Math.sqrt(s.tauSq[i]);
            normRatio.add(xn > 0 ? merged.l2() / xn : null);
            stdRatio.add(xs > 0 ? merged.stdPopulation() / xs : null);
            cos.add(dNorm > 0 && tn > 0 ? dot[i] / (dNorm * tn) : null);
            sign.add(both[i] > 0 ? (double) same[i] / both[i] : null);
        }
        r.put("norm_ratio_models", normRatio);
        r.put("std_ratio_models", stdRatio);
        r.put("cosine_tau", cos);
        r.put("sign_agreement", sign);
        double k = delta.excessKurtosis();
        r.put("delta_kurtosis", Double.isFinite(k) ? k : null);
        double beta = GeneralizedGaussian.betaFromKurtosis(k);
        r.put("delta_gg_beta", Double.isFinite(beta) ? beta : null);
        r.put("delta_stable_rank", Double.isNaN(stableRank) ? null : stableRank);
        r.put("delta_energy_rank", energyRank < 0 ? null : energyRank);
        r.put("alpha", Double.isNaN(alpha) ? null : alpha);
        return r;
    }
}
