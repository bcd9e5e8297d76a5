package io.weightlab.common.lora;

import io.weightlab.common.linalg.MarchenkoPastur;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code lora-init --rank-by mp-spikes}: each module's rank is the number of its weight's eigenvalues λ = σ² above
 * the Marchenko–Pastur bulk edge plus the Tracy–Widom margin (docs/algorithms.md, "Random-matrix metrics"): the
 * directions a random matrix of the bulk's variance would not have. At least 1 (a pure-noise matrix still gets a
 * rank-1 adapter); over the budget, trimmed by energy as {@code --rank-by-energy} is.
 */
public final class MpSpikeRanks {
    private MpSpikeRanks() {}

    public static int rankFor(double[] sv, int rows, int cols) {
        return Math.max(1, MarchenkoPastur.fit(sv, rows, cols).numSpikes());
    }

    /** @param spectra full spectra, descending; {@code shapes} each module's [rows, cols], in the same keys */
    public static Map<String, Integer> choose(Map<String, double[]> spectra, Map<String, int[]> shapes, int budget) {
        Map<String, Integer> wanted = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : spectra.entrySet()) {
            int[] s = shapes.get(e.getKey());
            wanted.put(e.getKey(), rankFor(e.getValue(), s[0], s[1]));
        }
        return EnergyRanks.budgeted(spectra, wanted, budget);
    }
}
