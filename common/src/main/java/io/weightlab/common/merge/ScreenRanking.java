package io.weightlab.common.merge;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A candidate's whole-model numbers, summed over its tensors as if the model were one vector (so a large matrix
 * weighs by its size, not as one tensor among hundreds), and the scores {@code --rank-by} orders candidates by
 * (docs/algorithms.md §32.8). The default, {@code mean_cosine}, ranks first the merge whose change to the base
 * points most along every fine-tune's task vector at once.
 */
public final class ScreenRanking {
    /** A score and whether larger is better. */
    public enum Score {
        MEAN_COSINE("mean_cosine", true, "mean over the models of cosine(Δ, τ_i) over the whole model"),
        MIN_COSINE("min_cosine", true, "the smallest cosine(Δ, τ_i): the model the merge serves worst"),
        MIN_SIGN_AGREEMENT("min_sign_agreement", true, "the smallest fraction of elements where Δ and τ_i (both nonzero) agree in sign"),
        REL_CHANGE("rel_change", false, "‖Δ‖/‖base‖ over the whole model, smallest first (the most conservative merge)"),
        ALPHA_OUT_OF_RANGE("alpha_out_of_range", false, "with --spectra-alpha: merged matrices whose WeightWatcher α is outside [2, 6], fewest first");

        public final String id;
        public final boolean higherIsBetter;
        public final String doc;

        Score(String id, boolean higherIsBetter, String doc) {
            this.id = id;
            this.higherIsBetter = higherIsBetter;
            this.doc = doc;
        }

        public static Score parse(String s) {
            for (Score x : values()) if (x.id.equals(s)) return x;
            List<String> ids = Arrays.stream(values()).map(x -> x.id).toList();
            throw new UsageException("--rank-by " + s + ": not a score" + Suggestions.didYouMean(s, ids) + "; scores: " + String.join(", ", ids));
        }
    }

    /** One candidate's sums over its tensors. */
    public static final class Totals {
        double deltaSq, baseSq, alphaSum;
        long alphas, alphaOut;
        final double[] dot, tauSq;
        final long[] both, same;

        public Totals(int inputs) {
            dot = new double[inputs];
            tauSq = new double[inputs];
            both = new long[inputs];
            same = new long[inputs];
        }

        public void add(ScreenMetrics m, ScreenMetrics.Sources s) {
            deltaSq += m.delta.l2() * m.delta.l2();
            baseSq += s.base.l2() * s.base.l2();
            for (int i = 0; i < dot.length; i++) {
                dot[i] += m.dot[i];
                tauSq[i] += s.tauSq[i];
                both[i] += m.both[i];
                same[i] += m.same[i];
            }
            if (!Double.isNaN(m.alpha)) {
                alphas++;
                alphaSum += m.alpha;
                if (ScreenAlpha.outOfRange(m.alpha)) alphaOut++;
            }
        }

        /** cosine(Δ, τ_i) over the whole model (NaN when either is zero). */
        public double cosine(int i) {
            return deltaSq > 0 && tauSq[i] > 0 ? dot[i] / Math.sqrt(deltaSq * tauSq[i]) : Double.NaN;
        }

        public double signAgreement(int i) {
            return both[i] > 0 ? (double) same[i] / both[i] : Double.NaN;
        }

        public double score(Score s) {
            int n = dot.length;
            return switch (s) {
                case MEAN_COSINE -> {
                    double t = 0;
                    for (int i = 0; i < n; i++) t += cosine(i);
                    yield t / n;
                }
                case MIN_COSINE -> {
                    double t = Double.POSITIVE_INFINITY;
                    for (int i = 0; i < n; i++) t = Math.min(t, cosine(i));
                    yield t;
                }
                case MIN_SIGN_AGREEMENT -> {
                    double t = Double.POSITIVE_INFINITY;
                    for (int i = 0; i < n; i++) t = Math.min(t, signAgreement(i));
                    yield t;
                }
                case REL_CHANGE -> baseSq > 0 ? Math.sqrt(deltaSq / baseSq) : Double.NaN;
                case ALPHA_OUT_OF_RANGE -> alphas > 0 ? alphaOut : Double.NaN;
            };
        }

        /** The whole-model numbers of screen.json's candidates[] (null for NaN: JSON has none). */
        public Map<String, Object> summary() {
            Map<String, Object> r = new LinkedHashMap<>();
            List<Double> cos = new ArrayList<>(), sign = new ArrayList<>();
            for (int i = 0; i < dot.length; i++) {
                cos.add(finite(cosine(i)));
                sign.add(finite(signAgreement(i)));
            }
            for (Score s : Score.values()) if (s != Score.ALPHA_OUT_OF_RANGE) r.put(s.id, finite(score(s)));
            r.put("cosine_tau", cos);
            r.put("sign_agreement", sign);
            // with --spectra-alpha: the merged matrices with a fitted α (null without)
            r.put("mean_alpha", alphas > 0 ? alphaSum / alphas : null);
            r.put("alpha_out_of_range", alphas > 0 ? alphaOut : null);
            r.put("alpha_matrices", alphas > 0 ? alphas : null);
            return r;
        }
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private ScreenRanking() {}

    /** Candidate indices best first; NaN scores last, ties in candidate order. */
    public static List<Integer> order(List<Totals> totals, Score s) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < totals.size(); i++) idx.add(i);
        Comparator<Integer> by = Comparator.comparingDouble(i -> {
            double v = totals.get(i).score(s);
            if (Double.isNaN(v)) return Double.POSITIVE_INFINITY;
            return s.higherIsBetter ? -v : v;
        });
        idx.sort(by.thenComparingInt(i -> i));
        return idx;
    }
}
