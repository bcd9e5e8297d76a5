package io.weightlab.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import picocli.CommandLine;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code --config job.yaml}: option defaults from a YAML file, keyed by long option name without dashes
 * ({@code slice-mb: 32}), optionally nested under the job name ({@code stats: {slice-mb: 32}}). CLI flags win.
 * Keys are checked like command-line options: a key that is no option of the job is an error with "did you mean".
 */
public final class YamlConfig implements CommandLine.IDefaultValueProvider {
    public static final String OPTION = "--config";
    private final String path;
    private final JsonNode root;

    private YamlConfig(String path, JsonNode root) {
        this.path = path;
        this.root = root;
    }

    /** The file named by {@code --config FILE} or {@code --config=FILE}, or null. */
    public static YamlConfig fromArgs(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String path = null;
            if (args[i].equals(OPTION) && i + 1 < args.length) path = args[i + 1];
            else if (args[i].startsWith(OPTION + "=")) path = args[i].substring(OPTION.length() + 1);
            if (path != null) {
                try {
                    JsonNode n = new ObjectMapper(new YAMLFactory()).readTree(new File(path));
                    if (n == null || !n.isObject()) throw new UsageException(OPTION + " " + path + ": not a YAML mapping");
                    return new YamlConfig(path, n);
                } catch (IOException e) {
                    throw new UsageException(OPTION + " " + path + ": " + e.getMessage().split("\n", 2)[0]);
                }
            }
        }
        return null;
    }

    public static String[] stripConfigArgs(String[] args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(OPTION)) { i++; continue; }
            if (args[i].startsWith(OPTION + "=")) continue;
            out.add(args[i]);
        }
        return out.toArray(new String[0]);
    }

    /**
     * Checks every key against the options of {@code job} (top-level keys) or of the job a section is named after;
     * a scalar under a job's section, a list where an option takes one value, and unknown keys are errors.
     */
    public void validate(CommandLine top, String job) {
        Map<String, CommandLine> jobs = top.getSubcommands();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (jobs.containsKey(e.getKey()) && e.getValue().isObject()) {
                CommandLine section = jobs.get(e.getKey());
                for (Iterator<String> keys = e.getValue().fieldNames(); keys.hasNext(); ) check(section, e.getKey() + ".", keys.next());
            } else if (job != null && jobs.containsKey(job)) {
                check(jobs.get(job), "", e.getKey());
            }
        }
    }

    private void check(CommandLine job, String prefix, String key) {
        Set<String> known = optionKeys(job);
        if (known.contains(key)) return;
        throw new UsageException(OPTION + " " + path + ": unknown key '" + prefix + key + "' for weightlab " + job.getCommandName()
                + Suggestions.didYouMean(key, known) + "; keys are the job's long options without dashes (weightlab "
                + job.getCommandName() + " --help)");
    }

    static Set<String> optionKeys(CommandLine job) {
        Set<String> keys = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : job.getCommandSpec().options()) {
            if (o.usageHelp() || o.versionHelp() || o.longestName().equals(OPTION)) continue;
            keys.add(o.longestName().replaceFirst("^-+", ""));
        }
        return keys;
    }

    @Override
    public String defaultValue(CommandLine.Model.ArgSpec spec) {
        if (!(spec instanceof CommandLine.Model.OptionSpec opt)) return null;
        String key = opt.longestName().replaceFirst("^-+", "");
        String job = spec.command() == null ? null : spec.command().name();
        JsonNode v = job != null && root.has(job) && root.get(job).has(key) ? root.get(job).get(key) : root.get(key);
        if (v == null || v.isNull()) return null;
        if (v.isArray() && !opt.splitRegex().isEmpty()) {
            List<String> items = new ArrayList<>();
            v.forEach(x -> items.add(x.asText()));
            return String.join(opt.splitRegex().replace("\\", ""), items); // the option's own separator, e.g. ","
        }
        if (v.isContainerNode()) {
            throw new UsageException(OPTION + " " + path + ": '" + key + "' takes " + (v.isArray() ? "one value here (repeat the option on the command line for more)" : "a value, not a mapping"));
        }
        return v.asText();
    }
}
