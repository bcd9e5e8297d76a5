package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RFA's geometric median (Pillutla et al. 2022, krishnap25/RFA {@code geometric_median_update}): smoothed Weiszfeld
 * iterations from z = Σα_i w_i, β_i ∝ α_i / max(ν, ‖z − w_i‖), z = Σβ_i w_i, stopping when the objective
 * Σα_i‖z − w_i‖ changes by less than ftol times itself or after maxiter steps. z always is a convex combination of
 * the clients, so ‖z − w_i‖² = Σ_j β_j D_ij − ½ Σ_jk β_j β_k D_jk comes from the pairwise distances: every step
 * runs on the driver, and the model is one weighted mean with the final β.
 */
public final class GeometricMedian extends WeightedMeanSelector {
    private final double nu;
    private final double ftol;
    private final int maxiter;

    public GeometricMedian(double nu, double ftol, int maxiter) {
        if (!(nu > 0) || !(ftol >= 0) || maxiter < 0) throw new UsageException("rfa: nu must be > 0, ftol >= 0, maxiter >= 0");
        this.nu = nu;
        this.ftol = ftol;
        this.maxiter = maxiter;
    }

    /** ‖Σ_j β_j w_j − w_i‖ for every i, from the squared distances. */
    static double[] distances(double[][] d, double[] beta) {
        int n = d.length;
        double cross = 0;
        for (int j = 0; j < n; j++) for (int k = 0; k < n; k++) cross += beta[j] * beta[k] * d[j][k];
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += beta[j] * d[i][j];
            out[i] = Math.sqrt(Math.max(0, s - cross / 2));
        }
        return out;
    }

    private static double objective(double[] alpha, double[] dist) {
        double s = 0;
        for (int i = 0; i < alpha.length; i++) s += alpha[i] * dist[i];
        return s;
    }

    @Override
    public Selection select(double[][] d, double[] alpha) {
        int n = d.length;
        double[] beta = alpha.clone();
        double obj = objective(alpha, distances(d, beta));
        List<Double> objectives = new ArrayList<>(List.of(obj));
        int steps = 0;
        for (int it = 0; it < maxiter; it++) {
            double[] dist = distances(d, beta);
            double[] next = new double[n];
            double total = 0;
            for (int i = 0; i < n; i++) {
                next[i] = alpha[i] / Math.max(nu, dist[i]);
                total += next[i];
            }
            for (int i = 0; i < n; i++) next[i] /= total;
            double prev = obj;
            beta = next;
            obj = objective(alpha, distances(d, beta));
            objectives.add(obj);
            steps++;
            if (Math.abs(prev - obj) < ftol * obj) break;
        }
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("weiszfeld_steps", steps);
        r.put("objectives", objectives);
        r.put("weights", beta);
        return new Selection(all, beta, r);
    }

    @Override public String describe() { return "geometric median (RFA, nu " + nu + ", maxiter " + maxiter + ")"; }
}
