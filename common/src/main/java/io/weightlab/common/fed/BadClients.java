package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;

import java.util.Arrays;
import java.util.Locale;

/** {@code --bad-clients}: what a client that fails a check does to the round. */
public enum BadClients {
    /** The round fails with every client's reason. */
    FAIL,
    /** The client is left out; the round fails only below --min-clients / --min-fraction (rule: MinClients). */
    DROP;

    /** The lowercase word users type and reports print. */
    public String spelling() { return name().toLowerCase(Locale.ROOT); }

    /** Case-insensitive; an unknown word is a usage error listing the choices. */
    public static BadClients parse(String word) {
        for (BadClients b : values()) if (b.spelling().equalsIgnoreCase(word.trim())) return b;
        throw new UsageException("--bad-clients must be one of " + Arrays.stream(values()).map(BadClients::spelling).toList() + ", got '" + word + "'");
    }
}
