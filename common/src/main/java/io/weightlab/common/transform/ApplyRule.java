package io.weightlab.common.transform;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorSelector;

import java.util.function.Function;

/**
 * {@code --apply SELECTION=METHOD[:k=v,...]}: which tensors ({@link TensorSelector}: a glob on names, modules and
 * dotted suffixes, {@code re:REGEX}, {@code kind:mlp_up}, {@code role:attention}) get which method. Rules are tried
 * in order and the first match wins; unmatched tensors are kept. A rule that matches no tensor is refused when the
 * plan is made ({@link TransformPlanner}).
 */
public record ApplyRule(String text, TensorSelector selector, WeightMethod method) {

    public static ApplyRule parse(String text, Function<String, byte[]> files) {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new UsageException("--apply '" + text + "': expected PATTERN=METHOD[:key=value,...], e.g. 'mlp.*=tvr:target_std=0.02' or 'kind:mlp_up=tvr'");
        }
        TensorSelector selector = TensorSelector.parse("--apply '" + text + "'", text.substring(0, eq).trim());
        WeightMethod method = MethodRegistry.create(text.substring(eq + 1).trim(), files);
        return new ApplyRule(text, selector, method);
    }

    /** Whether the rule covers a tensor (see {@link TensorSelector#matches}). */
    public boolean matches(String name) {
        return selector.matches(name);
    }
}
