package io.weightlab.common.lora;

import io.weightlab.common.error.UsageException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --rank-by-energy E}: each module's rank is the smallest r whose top singular values hold a fraction E of
 * the spectrum's energy Σσ² (of W for pissa-like inits; of whatever matrix the spectrum was computed on, e.g. the
 * gradient for lora_ga). When those ranks sum to more than the budget, every module keeps rank 1 and the rest of
 * the budget goes to the largest energy fractions σ_i²/Σσ² over all modules (as EVA redistributes explained variance).
 */
public final class EnergyRanks {
    private EnergyRanks() {}

    public static int rankFor(double[] sv, double energy) {
        double total = 0;
        for (double s : sv) total += s * s;
        if (total == 0) return 1;
        double acc = 0;
        for (int i = 0; i < sv.length; i++) {
            acc += sv[i] * sv[i];
            if (acc >= energy * total * (1 - 1e-12)) return i + 1;
        }
        return sv.length;
    }

    /** Ranks per module, in the map's order; {@code spectra} must hold full spectra, descending. */
    public static Map<String, Integer> choose(Map<String, double[]> spectra, double energy, int budget) {
        if (!(energy > 0 && energy <= 1)) throw new UsageException("--rank-by-energy must be in (0, 1], got " + energy);
        if (budget < spectra.size()) throw new UsageException("--rank-budget " + budget + " is below one rank per module (" + spectra.size() + ")");
        Map<String, Integer> wanted = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : spectra.entrySet()) wanted.put(e.getKey(), rankFor(e.getValue(), energy));
        return budgeted(spectra, wanted, budget);
    }

    /**
     * The wanted ranks if they fit the budget; else every module keeps rank 1 and the rest of the budget goes to the
     * largest energy fractions σ_i²/Σσ² among the wanted directions (i below the module's wanted rank).
     */
    public static Map<String, Integer> budgeted(Map<String, double[]> spectra, Map<String, Integer> wanted, int budget) {
        if (budget < spectra.size()) throw new UsageException("--rank-budget " + budget + " is below one rank per module (" + spectra.size() + ")");
        Map<String, Integer> out = new LinkedHashMap<>(wanted);
        int sum = 0;
        for (int r : wanted.values()) sum += r;
        if (sum <= budget) return out;
        record Offer(String module, int order, int index, double fraction) {}
        List<Offer> offers = new ArrayList<>();
        int order = 0;
        for (Map.Entry<String, double[]> e : spectra.entrySet()) {
            double[] sv = e.getValue();
            double total = 0;
            for (double s : sv) total += s * s;
            for (int i = 1; i < out.get(e.getKey()); i++) offers.add(new Offer(e.getKey(), order, i, total == 0 ? 0 : sv[i] * sv[i] / total));
            out.put(e.getKey(), 1);
            order++;
        }
        offers.sort(Comparator.comparingDouble((Offer o) -> -o.fraction()).thenComparingInt(Offer::order).thenComparingInt(Offer::index));
        for (int i = 0; i < budget - spectra.size() && i < offers.size(); i++) out.merge(offers.get(i).module(), 1, Integer::sum);
        return out;
    }
}
