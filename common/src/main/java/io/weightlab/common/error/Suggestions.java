package io.weightlab.common.error;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** "Did you mean" for a misspelled name: the known names closest by edit distance (a swap of two letters is one edit). */
public final class Suggestions {
    private Suggestions() {}

    private record Scored(String name, int distance) {}

    /** The known names within a few edits of {@code given} (or starting with it), closest first, at most three. */
    public static List<String> closest(String given, Collection<String> known) {
        String g = given.toLowerCase(Locale.ROOT);
        int limit = Math.max(2, g.length() / 3);
        return known.stream()
                .map(k -> new Scored(k, distance(g, k.toLowerCase(Locale.ROOT))))
                .filter(s -> s.distance() <= limit || g.length() >= 3 && s.name().toLowerCase(Locale.ROOT).startsWith(g))
                .sorted(Comparator.comparingInt(Scored::distance).thenComparing(Scored::name))
                .limit(3).map(Scored::name).toList();
    }

    /** " (did you mean 'x'?)", or "" when nothing is close. */
    public static String didYouMean(String given, Collection<String> known) {
        List<String> c = closest(given, known);
        if (c.isEmpty()) return "";
        return " (did you mean " + String.join(" or ", c.stream().map(s -> "'" + s + "'").toList()) + "?)";
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
        return d[a.length()][b.length()];
    }
}
