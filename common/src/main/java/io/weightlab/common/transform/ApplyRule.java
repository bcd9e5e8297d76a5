package io.weightlab.common.transform;

import io.weightlab.common.error.UsageException;
import org.apache.hadoop.fs.GlobPattern;

import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code --apply PATTERN=METHOD[:k=v,...]}. A glob pattern (Hadoop's {@link GlobPattern}: {@code *}, {@code ?},
 * {@code [abc]}, {@code {a,b}}) matches the whole tensor name
 * or its module name (the name without {@code .weight}/{@code .bias}), or any dotted suffix of those, as PEFT's
 * target_modules do ({@code mlp.*} matches
 * {@code model.layers.3.mlp.down_proj.weight}); {@code re:REGEX} must match the whole name. Rules are tried in
 * order and the first match wins; unmatched tensors are kept.
 */
public record ApplyRule(String text, String pattern, Pattern regex, boolean suffixMatch, WeightMethod method) {

    public static ApplyRule parse(String text, Function<String, byte[]> files) {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new UsageException("--apply '" + text + "': expected PATTERN=METHOD[:key=value,...], e.g. 'mlp.*=tvr:target_std=0.02'");
        }
        String pattern = text.substring(0, eq).trim();
        WeightMethod method = MethodRegistry.create(text.substring(eq + 1).trim(), files);
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
}
