package io.weightlab.common.transform;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorName;
import org.apache.hadoop.fs.GlobPattern;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code --apply PATTERN=METHOD[:k=v,...]}. A glob pattern (Hadoop's {@link GlobPattern}: {@code *}, {@code ?},
 * {@code [abc]}, {@code {a,b}}) matches the whole tensor name
 * or its module name (the name without {@code .weight}/{@code .bias}), or any dotted suffix of those, as PEFT's
 * target_modules do ({@code mlp.*} matches
 * {@code model.layers.3.mlp.down_proj.weight}); {@code re:REGEX} must match the whole name; {@code kind:K1|K2} and
 * {@code role:R} select by the module kind and role `inspect` shows ({@code kind:mlp_up}, {@code role:attention}).
 * Rules are tried in order and the first match wins; unmatched tensors are kept.
 */
public record ApplyRule(String text, String pattern, Pattern regex, boolean suffixMatch, WeightMethod method) {
    private static final String KIND = "kind:", ROLE = "role:";

    public static ApplyRule parse(String text, Function<String, byte[]> files) {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new UsageException("--apply '" + text + "': expected PATTERN=METHOD[:key=value,...], e.g. 'mlp.*=tvr:target_std=0.02'");
        }
        String pattern = text.substring(0, eq).trim();
        WeightMethod method = MethodRegistry.create(text.substring(eq + 1).trim(), files);
        if (pattern.startsWith(KIND) || pattern.startsWith(ROLE)) {
            checkSelector(text, pattern);
            return new ApplyRule(text, pattern, null, false, method);
        }
        try {
            if (pattern.startsWith("re:")) return new ApplyRule(text, pattern, Pattern.compile(pattern.substring(3)), false, method);
        } catch (PatternSyntaxException e) {
            throw new UsageException("--apply '" + text + "': bad regular expression: " + e.getDescription());
        }
        try {
            return new ApplyRule(text, pattern, Pattern.compile(new GlobPattern(pattern).compiled().pattern()), true, method);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--apply '" + text + "': bad glob pattern: " + e.getMessage());
        }
    }

    /** Whether the rule covers a tensor: by its name, or (globs) by a dotted suffix of its name or module name. */
    public boolean matches(String name) {
        if (regex == null) return selects(name);
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

    /** kind:/role: selectors: the tensor's module kind (or role) is one of the '|'-separated values. */
    private boolean selects(String name) {
        TensorName n = TensorName.parse(name);
        String value = pattern.startsWith(KIND) ? n.kind().label() : n.role().name().toLowerCase(Locale.ROOT);
        for (String v : pattern.substring(5).split("\\|")) if (v.trim().equalsIgnoreCase(value)) return true;
        return false;
    }

    /** The kinds and roles a selector may name, checked when the rule is parsed. */
    static void checkSelector(String text, String pattern) {
        boolean kind = pattern.startsWith(KIND);
        Set<String> known = new TreeSet<>();
        for (ModuleKind k : ModuleKind.values()) known.add(kind ? k.label() : k.role().name().toLowerCase(Locale.ROOT));
        for (String v : pattern.substring(5).split("\\|")) {
            if (!known.contains(v.trim().toLowerCase(Locale.ROOT))) {
                throw new UsageException("--apply '" + text + "': unknown " + (kind ? "module kind" : "role") + " '" + v.trim() + "'"
                        + Suggestions.didYouMean(v.trim(), known) + "; known: " + String.join(", ", known));
            }
        }
    }
}
