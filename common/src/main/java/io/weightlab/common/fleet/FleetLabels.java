package io.weightlab.common.fleet;

import java.util.ArrayList;
import java.util.List;

/**
 * Default model labels of a fleet (docs/fleet.md). A checkpoint's base is its path without the step component (the
 * step file, or the step directory holding it) and without a {@code .safetensors} file name; its label is the
 * shortest run of trailing path components that no other base shares: {@code runs/a/checkpoint-100} and
 * {@code runs/b/checkpoint-100} are models {@code a} and {@code b}, {@code x/final} and {@code y/final} are
 * {@code x/final} and {@code y/final}. A label or step given in {@code --inputs} is kept.
 */
public final class FleetLabels {
    private FleetLabels() {}

    /** The checkpoints with model and step filled in where they were not given. */
    public static List<FleetCheckpoint> assign(List<FleetCheckpoint> in) {
        List<String> bases = new ArrayList<>();
        for (FleetCheckpoint c : in) bases.add(base(c.uri()));
        List<String> distinct = new ArrayList<>(new java.util.LinkedHashSet<>(bases));
        List<FleetCheckpoint> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            FleetCheckpoint c = in.get(i);
            Long step = c.step() != null ? c.step() : StepNames.parse(c.uri());
            String model = c.model() != null ? c.model() : uniqueSuffix(bases.get(i), distinct);
            out.add(c.withLabel(model, step));
        }
        return out;
    }

    /** The fewest trailing components of {@code base} that end no other of {@code all}. */
    static String uniqueSuffix(String base, List<String> all) {
        String[] parts = base.replaceAll("^/+", "").split("/");
        for (int k = 1; k <= parts.length; k++) {
            String suffix = String.join("/", java.util.Arrays.copyOfRange(parts, parts.length - k, parts.length));
            boolean unique = true;
            for (String other : all) {
                if (other.equals(base)) continue;
                if (other.equals(suffix) || other.endsWith("/" + suffix)) unique = false;
            }
            if (unique && !suffix.isEmpty()) return suffix;
        }
        String whole = String.join("/", parts);
        return whole.isEmpty() ? "model" : whole;
    }

    /** The path a label is cut from: the URI without scheme/authority, its step component, and a .safetensors file name. */
    static String base(String uri) {
        String p = StepNames.stripSlash(pathOf(uri));
        if (StepNames.lastIsStep(p)) return parent(p);
        String last = p.substring(p.lastIndexOf('/') + 1);
        if (last.endsWith(".safetensors") || last.endsWith(".index.json")) {
            String parent = parent(p);
            // model.safetensors inside checkpoint-1200/: the directory is the step
            if (StepNames.lastIsStep(parent)) return parent(parent);
            return last.startsWith("model") || last.startsWith("adapter_model") ? parent : p.replaceAll("\\.safetensors$", "");
        }
        return p;
    }

    static String pathOf(String uri) {
        try {
            String p = new java.net.URI(uri.replace(" ", "%20")).getPath();
            return p == null || p.isEmpty() ? uri : p.replace("%20", " ");
        } catch (java.net.URISyntaxException e) {
            return uri;
        }
    }

    private static String parent(String p) {
        int cut = p.lastIndexOf('/');
        return cut <= 0 ? "" : p.substring(0, cut);
    }
}
