package io.weightlab.common.model;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import org.apache.hadoop.fs.GlobPattern;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which tensors an option selects ({@code --apply}'s PATTERN, {@code --correct}): a glob (Hadoop's
 * {@link GlobPattern}: {@code *}, {@code ?}, {@code [abc]}, {@code {a,b}}) on the tensor name, its module name (the
 * name without {@code .weight}/{@code .bias}) or any dotted suffix of those, as PEFT's target_modules match
 * ({@code mlp.*} matches {@code model.layers.3.mlp.down_proj.weight}); {@code re:REGEX} on the whole name; or
 * {@code kind:K[,K...]} / {@code role:R[,R...]} by module kind and role as {@code inspect} shows them
 * ({@code kind:mlp_up}, {@code role:attention}), whatever the family calls the module. A selection that matches no
 * tensor is a mistake, never a silent no-op: {@link #requireMatch} refuses it and lists what the checkpoint has.
 */
public final class TensorSelector implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final String KIND = "kind:", ROLE = "role:", REGEX = "re:";
    /** How many distinct names an error lists before "and N more". */
    private static final int LISTED = 8;

    private final String text;
    private final Pattern regex;
    private final boolean suffixMatch;
    private final Set<ModuleKind> kinds;
    private final Set<ModuleKind.Role> roles;

    private TensorSelector(String text, Pattern regex, boolean suffixMatch, Set<ModuleKind> kinds, Set<ModuleKind.Role> roles) {
        this.text = text;
        this.regex = regex;
        this.suffixMatch = suffixMatch;
        this.kinds = kinds;
        this.roles = roles;
    }

    /** Parses a selection; {@code where} starts the error message (e.g. {@code --apply 'x=tvr'}). */
    public static TensorSelector parse(String where, String text) {
        if (text.startsWith(KIND)) {
            Set<ModuleKind> kinds = EnumSet.noneOf(ModuleKind.class);
            for (String k : labels(text.substring(KIND.length()))) kinds.add(lookup(where, "module kind", k, ModuleKind.values()));
            return new TensorSelector(text, null, false, kinds, null);
        }
        if (text.startsWith(ROLE)) {
            Set<ModuleKind.Role> roles = EnumSet.noneOf(ModuleKind.Role.class);
            for (String r : labels(text.substring(ROLE.length()))) roles.add(lookup(where, "role", r, ModuleKind.Role.values()));
            return new TensorSelector(text, null, false, null, roles);
        }
        if (text.startsWith(REGEX)) {
            try {
                return new TensorSelector(text, Pattern.compile(text.substring(REGEX.length())), false, null, null);
            } catch (PatternSyntaxException e) {
                throw new UsageException(where + ": bad regular expression: " + e.getDescription());
            }
        }
        try {
            return new TensorSelector(text, Pattern.compile(new GlobPattern(text).compiled().pattern()), true, null, null);
        } catch (IllegalArgumentException e) {
            throw new UsageException(where + ": bad glob pattern: " + e.getMessage());
        }
    }

    public String text() { return text; }

    /** Whether the selection covers a tensor: by kind or role, by its whole name, or (globs) by a dotted suffix. */
    public boolean matches(String name) {
        if (kinds != null) return kinds.contains(TensorName.parse(name).kind());
        if (roles != null) return roles.contains(TensorName.parse(name).role());
        if (regex.matcher(name).matches()) return true;
        if (!suffixMatch) return false;
        int lastDot = name.lastIndexOf('.');
        String module = lastDot > 0 ? name.substring(0, lastDot) : name;
        for (String s : new String[] {name, module}) {
            if (regex.matcher(s).matches()) return true;
            for (int i = s.indexOf('.'); i >= 0; i = s.indexOf('.', i + 1)) {
                if (regex.matcher(s.substring(i + 1)).matches()) return true;
            }
        }
        return false;
    }

    /** Refuses a selection that matches none of {@code names}, listing the module kinds and names there are. */
    public void requireMatch(String where, Collection<String> names) {
        for (String n : names) if (matches(n)) return;
        throw new UsageException(where + " matches no tensor; " + whatExists(names));
    }

    /**
     * The checkpoint's module kinds with their tensor counts, and its module names (block and expert numbers as
     * {@code *}, blocks first), abbreviated: what a selection could have named.
     */
    public static String whatExists(Collection<String> names) {
        Map<String, Integer> kinds = new LinkedHashMap<>();
        Set<String> repeated = new LinkedHashSet<>(), single = new LinkedHashSet<>();
        for (String n : names) {
            kinds.merge(TensorName.parse(n).kind().label(), 1, Integer::sum);
            String module = n.replaceFirst("\\.(weight|bias|gamma|beta)$", "");
            String shape = module.replaceAll("\\.\\d+(?=\\.|$)", ".*");
            (shape.equals(module) ? single : repeated).add(shape);
        }
        List<String> k = new ArrayList<>();
        kinds.forEach((kind, count) -> k.add(kind + " (" + count + ")"));
        repeated.addAll(single); // the blocks' modules first: what a pattern usually means to name
        return "module kinds here: " + String.join(", ", k) + " (select with kind:NAME); modules here: " + abbreviated(repeated)
                + " (" + names.size() + " tensors; weightlab inspect lists them)";
    }

    private static String abbreviated(Collection<String> items) {
        List<String> shown = items.stream().limit(LISTED).toList();
        String more = items.size() > LISTED ? " and " + (items.size() - LISTED) + " more" : "";
        return String.join(", ", shown) + more;
    }

    private static List<String> labels(String list) {
        List<String> out = new ArrayList<>();
        for (String s : list.split(",")) if (!s.isBlank()) out.add(s.trim().toLowerCase(Locale.ROOT));
        return out;
    }

    private static <E extends Enum<E>> E lookup(String where, String what, String label, E[] values) {
        List<String> known = new ArrayList<>();
        for (E v : values) {
            String l = v.name().toLowerCase(Locale.ROOT);
            if (l.equals(label)) return v;
            known.add(l);
        }
        throw new UsageException(where + ": unknown " + what + " '" + label + "'" + Suggestions.didYouMean(label, known)
                + "; known: " + String.join(", ", known));
    }
}
