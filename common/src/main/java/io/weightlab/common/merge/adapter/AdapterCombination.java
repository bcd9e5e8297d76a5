package io.weightlab.common.merge.adapter;

import io.weightlab.common.fed.LoraPair;

import java.io.Serializable;
import java.util.List;

/**
 * One of PEFT's {@code add_weighted_adapter} combination types (docs/algorithms.md "Adapter merges"), registered by
 * name in {@link AdapterCombinations}. It combines one module of several LoRA adapters of one base into one module of
 * the merged adapter, whose config has r = lora_alpha = the new rank (PEFT's), so the factors carry all scaling.
 */
public interface AdapterCombination extends Serializable {
    /** The merged adapter's rank from the inputs' config ranks (the largest of r and rank_pattern each), as PEFT's check. */
    int newRank(int[] configRanks);

    /**
     * One module: the adapters that have it, in input order, with their scalings in the pairs; {@code weights} are the
     * user's weights of those adapters. The result's r is {@code newRank} (zero rows/columns pad it, as PEFT's cat).
     */
    LoraPair combine(String module, List<LoraPair> present, double[] weights, int newRank, long seed);

    /**
     * Refuses, on the driver from headers, a module this combination cannot merge (the ranks of the adapters that have
     * it, its ΔW's [out, in]), so a failing module never starts writing while other modules' tasks run.
     */
    default void checkModule(String module, int[] ranks, int in, int out, int newRank) { }

    /** Whether the combination forms each adapter's ΔW densely (out x in doubles per adapter): the memory line in the report. */
    default boolean formsDelta() { return false; }

    /** The same rank in every adapter, PEFT's rule for linear, ties, dare_* and magnitude_prune (refused otherwise, naming it). */
    static int sameRank(String name, int[] configRanks) {
        for (int r : configRanks) {
            if (r != configRanks[0]) {
                throw new io.weightlab.common.error.UsageException("combination " + name + " needs adapters of one rank (PEFT's rule), got ranks "
                        + java.util.Arrays.toString(configRanks) + "; use cat or svd (rule: SameRank)");
            }
        }
        return configRanks[0];
    }
}
