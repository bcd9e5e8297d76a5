package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bulyan (El Mhamdi et al. 2018) as Flower's legacy {@code aggregate_bulyan} with Krum as the rule: θ = K − 2f
 * clients chosen by Krum run θ times on the shrinking set (k = max(1, n − f − 2) of the remaining n), then per
 * coordinate the unweighted mean of the β = θ − 2f chosen values closest to the chosen clients' coordinate-wise median
 * (ties by client order). Needs K ≥ 4f + 3.
 */
public final class Bulyan implements ClientSelector {
    private final int f;
    private int beta = -1;

    public Bulyan(int f) {
        if (f < 0) throw new UsageException("bulyan: num_malicious_clients must be >= 0");
        this.f = f;
    }

    @Override
    public Selection select(double[][] d, double[] weights) {
        int n = d.length;
        if (n < 4 * f + 3) throw new UsageException("bulyan with num_malicious_clients " + f + " needs at least " + (4 * f + 3) + " clients, got " + n + " (rule: BulyanClients)");
        int theta = n - 2 * f;
        beta = theta - 2 * f;
        List<Integer> remaining = new ArrayList<>();
        for (int i = 0; i < n; i++) remaining.add(i);
        List<Integer> order = new ArrayList<>();
        for (int round = 0; round < theta; round++) {
            int r = remaining.size();
            double[][] sub = new double[r][r];
            for (int i = 0; i < r; i++) for (int j = 0; j < r; j++) sub[i][j] = d[remaining.get(i)][remaining.get(j)];
            Integer best = Krum.ranking(Krum.scores(sub, f))[0];
            order.add(remaining.remove((int) best));
        }
        int[] chosen = order.stream().mapToInt(Integer::intValue).sorted().toArray();
        double[] w = new double[theta];
        Arrays.fill(w, 1.0 / theta);
        Map<String, Object> rep = new LinkedHashMap<>();
        rep.put("selection_order", order);
        rep.put("theta", theta);
        rep.put("beta", beta);
        return new Selection(chosen, w, rep);
    }

    @Override
    public void combine(double[][] values, double[] weights, int count, double[] out) {
        int k = values.length, b = beta > 0 ? Math.min(beta, k) : Math.max(1, k - 2 * f);
        double[] col = new double[k];
        Integer[] idx = new Integer[k];
        for (int i = 0; i < count; i++) {
            for (int c = 0; c < k; c++) col[c] = values[c][i];
            double[] sorted = col.clone();
            Arrays.sort(sorted);
            double med = k % 2 == 1 ? sorted[k / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
            for (int c = 0; c < k; c++) idx[c] = c;
            Arrays.sort(idx, (x, y) -> {
                int cmp = Double.compare(Math.abs(col[x] - med), Math.abs(col[y] - med));
                return cmp != 0 ? cmp : Integer.compare(x, y);
            });
            double s = col[idx[0]]; // not 0.0 + …: keeps a −0.0
            for (int c = 1; c < b; c++) s += col[idx[c]];
            out[i] = s / b;
        }
    }

    @Override public String describe() { return "bulyan (f " + f + ")"; }

    @Override public boolean weighted() { return false; }
}
