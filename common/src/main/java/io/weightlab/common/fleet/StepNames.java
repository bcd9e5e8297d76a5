package io.weightlab.common.fleet;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The training step in a checkpoint's name, as the usual trainers save them: {@code checkpoint-1200} (Hugging Face
 * Trainer), {@code step_1200}, {@code global_step1200} (DeepSpeed), with a separator of -, _ or none. The last path
 * component is tried first (a file {@code step_1200.safetensors}), then its directory ({@code checkpoint-1200/model.safetensors}).
 */
public final class StepNames {
    private static final Pattern STEP = Pattern.compile("(?i)^(?:checkpoint|global_step|global-step|step)[-_]?(\\d{1,18})(?:\\.safetensors)?$");

    private StepNames() {}

    /** The step, or null when neither of the last two path components is a step name. */
    public static Long parse(String uri) {
        String path = stripSlash(uri);
        int cut = path.lastIndexOf('/');
        String last = path.substring(cut + 1);
        Long s = match(last);
        if (s != null || cut <= 0) return s;
        String parent = path.substring(0, cut);
        return match(parent.substring(parent.lastIndexOf('/') + 1));
    }

    /** The step of one path component, or null. */
    static Long match(String component) {
        Matcher m = STEP.matcher(component);
        return m.matches() ? Long.parseLong(m.group(1)) : null;
    }

    static String stripSlash(String uri) {
        String p = uri;
        while (p.length() > 1 && p.endsWith("/")) p = p.substring(0, p.length() - 1);
        return p;
    }

    /** Whether the last path component of {@code uri} is the step name (so the label is its parent). */
    static boolean lastIsStep(String uri) {
        String path = stripSlash(uri);
        return match(path.substring(path.lastIndexOf('/') + 1)) != null;
    }
}
