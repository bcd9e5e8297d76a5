package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The candidates of {@code merge --screen GRID.yaml} (docs/methods.md "Merge-and-screen grids"): either
 * {@code candidates:}, a list of mergekit recipes (each with an optional {@code name:}), or one recipe plus a
 * {@code grid:} mapping from a parameter address to a list of values, expanded as a cartesian product (the first key
 * varies slowest, as itertools.product) with generated names. Each candidate is parsed as a recipe of its own
 * ({@link MergeRecipe#parse}), so every rule of {@code merge --config} holds and an error names the candidate.
 */
public final class ScreenGrid {
    /** More would not be a screen but a search: the driver plans every tensor of every candidate. */
    public static final int MAX_CANDIDATES = 10_000;
    private static final Pattern MODEL_KEY = Pattern.compile("models\\[(\\d+)]\\.parameters\\.([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern PARAM_KEY = Pattern.compile("(?:parameters\\.)?([A-Za-z_][A-Za-z0-9_]*)");
    private static final String KEYS = "merge_method, PARAM or parameters.PARAM (top-level), models[i].parameters.PARAM (model i of 'models', from 0)";

    /** One candidate: its name, the recipe as parsed, and the recipe's YAML tree (what screen.json records and --write-top runs). */
    public record Candidate(String name, MergeRecipe recipe, JsonNode tree) implements Serializable {}

    private ScreenGrid() {}

    /** Parses a grid file's YAML tree; {@code source} names the file in errors. */
    public static List<Candidate> parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) throw new UsageException(source + ": a screen grid is a YAML mapping with 'candidates:' or a recipe with 'grid:'");
        if (root.has("candidates")) {
            for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("candidates")) {
                    throw new UsageException(source + ": unknown key '" + k + "' beside 'candidates' (a list of recipes stands alone; a recipe with 'grid:' has no 'candidates')");
                }
            }
            return candidates(root.get("candidates"), source);
        }
        if (!root.has("grid")) {
            throw new UsageException(source + ": a screen grid needs 'candidates:' (a list of recipes) or 'grid:' (a recipe's parameters to vary); for one recipe use --config");
        }
        return expand(root, source);
    }

    private static List<Candidate> candidates(JsonNode list, String source) {
        if (list == null || !list.isArray() || list.isEmpty()) throw new UsageException(source + ": 'candidates' must be a non-empty list of recipes");
        if (list.size() > MAX_CANDIDATES) throw new UsageException(source + ": " + list.size() + " candidates, at most " + MAX_CANDIDATES);
        List<Candidate> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        int k = 0;
        for (JsonNode c : list) {
            k++;
            if (!c.isObject()) throw new UsageException(source + ": candidate " + k + " is not a recipe mapping");
            String name = c.has("name") ? c.get("name").asText() : "candidate-" + k;
            out.add(candidate(name, c, source, names));
        }
        return out;
    }

    private static Candidate candidate(String name, JsonNode tree, String source, Set<String> names) {
        if (name.isBlank() || name.contains("/") || name.startsWith(".") || name.startsWith("_")) {
            throw new UsageException(source + ": candidate name '" + name + "' must be non-empty, without '/', not starting with '.' or '_' (it names a directory under top/)");
        }
        if (!names.add(name)) throw new UsageException(source + ": two candidates are named '" + name + "'");
        MergeRecipe r = MergeRecipe.parse(tree, source + ": candidate '" + name + "'");
        if (r.stack() != null) throw new UsageException(source + ": candidate '" + name + "': passthrough over 'slices' (layer stacking) is not screened; merge it with --config");
        return new Candidate(name, r, tree);
    }

    /** One grid key: where it writes in the recipe tree, and its label in generated names. */
    private record Address(String key, String label, int model, String param) {}

    private static List<Candidate> expand(JsonNode root, String source) {
        JsonNode grid = root.get("grid");
        if (grid == null || !grid.isObject() || grid.isEmpty()) throw new UsageException(source + ": 'grid' must be a non-empty mapping of parameter address: [values]");
        ObjectNode recipe = root.deepCopy();
        recipe.remove("grid");
        JsonNode models = recipe.get("models");
        List<Address> keys = new ArrayList<>();
        List<JsonNode> values = new ArrayList<>();
        long total = 1;
        for (Iterator<Map.Entry<String, JsonNode>> it = grid.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (v == null || !v.isArray() || v.isEmpty()) throw new UsageException(source + ": grid key '" + k + "' needs a non-empty list of values");
            keys.add(address(k, models, source));
            values.add(v);
            total *= v.size();
            if (total > MAX_CANDIDATES) throw new UsageException(source + ": the grid expands to more than " + MAX_CANDIDATES + " candidates");
        }
        String prefix = root.has("name") ? root.get("name").asText() : "grid";
        List<Candidate> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        int[] at = new int[keys.size()];
        for (long n = 0; n < total; n++) {
            ObjectNode tree = recipe.deepCopy();
            StringBuilder name = new StringBuilder(prefix);
            for (int k = 0; k < keys.size(); k++) {
                JsonNode v = values.get(k).get(at[k]);
                set(tree, keys.get(k), v);
                name.append('_').append(keys.get(k).label()).append('=').append(v.isValueNode() ? v.asText() : v.toString().replace(" ", ""));
            }
            tree.put("name", name.toString());
            out.add(candidate(name.toString(), tree, source, names));
            for (int k = keys.size() - 1; k >= 0; k--) { // the last key varies fastest
                if (++at[k] < values.get(k).size()) break;
                at[k] = 0;
            }
        }
        return out;
    }

    private static Address address(String k, JsonNode models, String source) {
        if (k.equals("merge_method")) return new Address(k, "method", -1, null);
        Matcher m = MODEL_KEY.matcher(k);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            int n = models == null || !models.isArray() ? 0 : models.size();
            if (i >= n) throw new UsageException(source + ": grid key '" + k + "': the recipe has " + n + " entr" + (n == 1 ? "y" : "ies") + " under 'models' (models[0.." + (n - 1) + "])");
            return new Address(k, "m" + i + "." + m.group(2), i, m.group(2));
        }
        m = PARAM_KEY.matcher(k);
        if (m.matches() && !List.of("models", "base_model", "dtype", "out_dtype", "name", "slices").contains(m.group(1))) {
            return new Address(k, m.group(1), -1, m.group(1));
        }
        throw new UsageException(source + ": unknown grid key '" + k + "'" + Suggestions.didYouMean(k, List.of("merge_method", "parameters." + k, "models[0].parameters." + k))
                + "; keys: " + KEYS);
    }

    private static void set(ObjectNode tree, Address a, JsonNode v) {
        if (a.param() == null) {
            tree.set("merge_method", v);
            return;
        }
        if (a.model() < 0) {
            JsonNode p = tree.get("parameters");
            ObjectNode params = p != null && p.isObject() ? (ObjectNode) p : tree.putObject("parameters");
            params.set(a.param(), v);
            return;
        }
        com.fasterxml.jackson.databind.node.ArrayNode models = (com.fasterxml.jackson.databind.node.ArrayNode) tree.get("models");
        JsonNode entry = models.get(a.model());
        ObjectNode obj;
        if (entry.isTextual()) { // "- FT0" is {model: FT0}
            obj = JsonNodeFactory.instance.objectNode();
            obj.put("model", entry.asText());
            models.set(a.model(), obj);
        } else if (entry.isObject()) {
            obj = (ObjectNode) entry;
        } else {
            return; // MergeRecipe.parse refuses the entry with its own message
        }
        JsonNode p = obj.get("parameters");
        ObjectNode params = p != null && p.isObject() ? (ObjectNode) p : obj.putObject("parameters");
        params.set(a.param(), v);
    }
}
