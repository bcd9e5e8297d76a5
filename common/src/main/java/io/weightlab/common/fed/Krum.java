package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Krum and Multi-Krum (Blanchard et al. 2017; Flower's {@code Krum(num_malicious_clients, num_clients_to_keep)}):
 * each client's score is the sum of its squared distances to its k = max(1, K − f − 2) nearest other clients; Krum
 * returns the client with the lowest score (the first on ties), Multi-Krum (keep m > 0) the weighted mean of the m
 * lowest-scoring clients, their weights renormalised.
 */
public final class Krum extends WeightedMeanSelector {
    private final int f;
    private final int keep;

    public Krum(int f, int keep) {
        if (f < 0 || keep < 0) throw new UsageException("krum: num_malicious_clients and num_clients_to_keep must be >= 0");
        this.f = f;
        this.keep = keep;
    }

    /** Flower's scores: for each row, the sum of the k smallest distances to the others (the row sorted, self skipped). */
    public static double[] scores(double[][] d, int f) {
        int n = d.length, k = Math.max(1, n - f - 2);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            double[] row = new double[n - 1];
            for (int j = 0, at = 0; j < n; j++) if (j != i) row[at++] = d[i][j];
            Arrays.sort(row);
            for (int j = 0; j < Math.min(k, row.length); j++) s[i] += row[j];
        }
        return s;
    }

    /** Client indices by ascending score, ties by index (np.argsort's stable order). */
    static Integer[] ranking(double[] s) {
        Integer[] idx = new Integer[s.length];
        for (int i = 0; i < s.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> s[a] != s[b] ? Double.compare(s[a], s[b]) : Integer.compare(a, b));
        return idx;
    }

    @Override
    public Selection select(double[][] d, double[] weights) {
        double[] s = scores(d, f);
        Integer[] order = ranking(s);
        int m = keep > 0 ? Math.min(keep, d.length) : 1;
        int[] chosen = new int[m];
        for (int i = 0; i < m; i++) chosen[i] = order[i];
        Arrays.sort(chosen); // combined in client order: the sum's rounding does not depend on the scores
        double total = 0;
        for (int c : chosen) total += keep > 0 ? weights[c] : 1.0;
        double[] ws = new double[m];
        for (int i = 0; i < m; i++) ws[i] = (keep > 0 ? weights[chosen[i]] : 1.0) / total;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("scores", s);
        List<Integer> sel = new ArrayList<>();
        for (int c : chosen) sel.add(c);
        r.put("selected", sel);
        return new Selection(chosen, ws, r);
    }

    @Override
    public String describe() {
        return keep > 0 ? "multi-krum (f " + f + ", keep " + keep + ")" : "krum (f " + f + ")";
    }
}
