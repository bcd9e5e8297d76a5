package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.Arrays;
import java.util.Locale;

/** {@code --weighting}: where each client's share p_k of the aggregate comes from (see {@link ClientWeights}). */
public enum Weighting {
    /** n_k / Σn, FedAvg's; every client needs examples > 0 (rule: PositiveExamples). */
    EXAMPLES,
    /** 1 / K. */
    UNIFORM,
    /** The manifest's {@code weight}s, normalised. */
    GIVEN;

    /** The lowercase word users type and reports print. */
    public String spelling() { return name().toLowerCase(Locale.ROOT); }

    /** This weighting's p_k for the clients, in their order. */
    public double[] weights(java.util.List<ClientSpec> clients) { return ClientWeights.of(spelling(), clients); }

    /** Case-insensitive; an unknown word is a usage error listing the choices. */
    public static Weighting parse(String word) {
        for (Weighting w : values()) if (w.spelling().equalsIgnoreCase(word.trim())) return w;
        throw new UsageException("--weighting must be one of " + Arrays.stream(values()).map(Weighting::spelling).toList() + ", got '" + word + "'");
    }
}
