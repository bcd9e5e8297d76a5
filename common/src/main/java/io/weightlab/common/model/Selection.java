package io.weightlab.common.model;

import io.weightlab.common.error.UsageException;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A user's selection of tensors (an --apply pattern, --target-modules, --correct, --include) that matches nothing
 * is a mistake, never a silent no-op: the error says what the checkpoint does have, by the module kinds `inspect`
 * shows and a few names, so the fix is one look away.
 */
public final class Selection {
    public static final String RULE = "SelectionMatches";

    private Selection() {}

    /** "{what} matches no tensor of {where}; it has module kinds attn_q (6), …, e.g. a, b, c (rule: SelectionMatches)". */
    public static UsageException matchesNothing(String what, String where, Collection<String> names) {
        return new UsageException(what + " matches no tensor of " + where + "; " + describe(names) + " (rule: " + RULE + ")");
    }

    /** The module kinds of {@code names} with their counts, and three example names. */
    public static String describe(Collection<String> names) {
        if (names.isEmpty()) return "it has no tensors";
        Map<String, Long> kinds = names.stream().collect(Collectors.groupingBy(n -> TensorName.parse(n).kind().label(), TreeMap::new, Collectors.counting()));
        String k = kinds.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + ")").collect(Collectors.joining(", "));
        String examples = names.stream().filter(n -> TensorName.parse(n).layer() == null || TensorName.parse(n).layer() == 0)
                .limit(3).collect(Collectors.joining(", "));
        return "it has module kinds " + k + "; e.g. " + examples;
    }
}
