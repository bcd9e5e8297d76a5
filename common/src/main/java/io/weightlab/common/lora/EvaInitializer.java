package io.weightlab.common.lora;

import io.weightlab.common.method.MethodParams;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.linalg.Lapack;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code eva} (docs/algorithms.md §3.5), exact variant: each module's A is the top principal directions of its input
 * activations, from the covariance of the collected statistics (LAPACK dsyevd) instead of PEFT's incremental
 * low-rank PCA and its convergence loop; B = 0 and the base is unchanged. Rank moves between modules by explained
 * variance: every module offers its first round(r·ρ) ratios, the largest Σr of all of them win, a module's new rank
 * is how many it won (0 drops its adapter). With {@code adjust_scaling_factors} α follows the rank so s stays α/r.
 * Runs in two passes in the job: {@link #decompose} per module, {@link #redistribute} on the driver, {@link #factors}.
 */
public final class EvaInitializer implements LoraInitializer, Serializable {
    private final double rho;
    private final boolean whiten;
    private final boolean adjustScaling;

    /** One module's principal directions (rows, sign-flipped as svd_flip(u_based_decision=False)) and their variances. */
    public record Decomposition(double[] components, double[] variances, double[] ratios, long count, int k, int n) implements Serializable {}

    public EvaInitializer(MethodParams p) {
        rho = p.number("rho", 2.0);
        if (!(rho >= 1)) throw new UsageException("eva: rho must be >= 1, got " + rho);
        whiten = p.flag("whiten", false);
        adjustScaling = p.flag("adjust_scaling_factors", true);
    }

    public double rho() { return rho; }

    public boolean adjustScaling() { return adjustScaling; }

    /** How many components a module of rank r offers to the redistribution: round(r·ρ), at most n. */
    public int offered(int r, int n) {
        return (int) Math.min(n, Math.round(r * rho));
    }

    public static Decomposition decompose(ActivationStats s, int k) {
        Lapack.Eigen e = Lapack.symmetricEigen(s.covariance(), s.n());
        int n = s.n();
        double trace = 0;
        for (double v : e.values()) trace += Math.max(v, 0);
        double[] comps = new double[k * n], vars = new double[k], ratios = new double[k];
        for (int t = 0; t < k; t++) {
            int big = 0;
            for (int i = 1; i < n; i++) if (Math.abs(e.vectors()[t * n + i]) > Math.abs(e.vectors()[t * n + big])) big = i;
            double sign = e.vectors()[t * n + big] < 0 ? -1 : 1;
            for (int i = 0; i < n; i++) comps[t * n + i] = sign * e.vectors()[t * n + i];
            vars[t] = Math.max(e.values()[t], 0);
            ratios[t] = trace > 0 ? vars[t] / trace : 0;
        }
        return new Decomposition(comps, vars, ratios, s.count(), k, n);
    }

    /**
     * New ranks: the Σ r largest of all offered ratios, counted per module. Ties go to the earlier module, then the
     * earlier component, so the result does not depend on anything but the inputs' order.
     */
    public static Map<String, Integer> redistribute(Map<String, double[]> ratios, Map<String, Integer> ranks) {
        record Offer(String module, int order, int index, double ratio) {}
        List<Offer> offers = new ArrayList<>();
        int order = 0, budget = 0;
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : ratios.entrySet()) {
            for (int t = 0; t < e.getValue().length; t++) offers.add(new Offer(e.getKey(), order, t, e.getValue()[t]));
            budget += ranks.get(e.getKey());
            out.put(e.getKey(), 0);
            order++;
        }
        offers.sort(Comparator.comparingDouble((Offer o) -> -o.ratio()).thenComparingInt(Offer::order).thenComparingInt(Offer::index));
        for (int i = 0; i < Math.min(budget, offers.size()); i++) out.merge(offers.get(i).module(), 1, Integer::sum);
        return out;
    }

    /** A = the first r components (whitened: divided by √ of the centred data's singular value), B = 0. */
    public LoraFactors factors(Decomposition d, int r, int out) {
        float[] a = new float[r * d.n()];
        for (int t = 0; t < r; t++) {
            double f = whiten ? 1 / Math.sqrt(Math.sqrt(d.variances()[t] * (d.count() - 1))) : 1;
            for (int i = 0; i < d.n(); i++) a[t * d.n() + i] = (float) (d.components()[t * d.n() + i] * f);
        }
        return new LoraFactors(a, new float[out * r], r, d.n(), out, false, "eva r=" + r + " explained=" + sum(d.ratios(), r));
    }

    private static double sum(double[] v, int r) {
        double s = 0;
        for (int i = 0; i < r; i++) s += v[i];
        return s;
    }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        throw new IllegalStateException("eva decomposes activation statistics and redistributes ranks across modules; LoraInitJob runs it");
    }

    @Override public boolean changesBase() { return false; }

    @Override public boolean needsWeight() { return false; }
}
