package io.weightlab.common.fed;

import java.io.Serializable;
import java.util.List;

/**
 * One module's server-side LoRA aggregation (docs/algorithms.md §5.1, docs/design.md (What we compare against §4)): the clients' adapters and their
 * weights p (Σ = 1) in, one adapter out, whose scaling the aggregator chooses. Registered by name in
 * {@link LoraAggregatorRegistry}.
 */
public interface LoraAggregator extends Serializable {
    LoraPair aggregate(List<LoraPair> clients, double[] p);

    /** One line for the report, e.g. whether it is exact or biased. */
    String describe();

    /** Whether the output rank and scaling equal the clients' (FedIT, FFA, LoRA-FAIR) or are new (stacking, SVD). */
    default boolean keepsConfig() { return true; }
}
