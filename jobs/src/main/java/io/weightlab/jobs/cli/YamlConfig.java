package io.weightlab.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.weightlab.common.error.UsageException;
import picocli.CommandLine;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --config job.yaml}: option defaults from a YAML file, keyed by long option name without dashes
 * ({@code slice-mb: 32}), optionally nested under the job name ({@code stats: {slice-mb: 32}}). CLI flags win.
 */
public final class YamlConfig implements CommandLine.IDefaultValueProvider {
    private final JsonNode root;

    private YamlConfig(JsonNode root) {
        this.root = root;
    }

    public static CommandLine.IDefaultValueProvider fromArgs(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String path = null;
            if (args[i].equals("--config") && i + 1 < args.length) path = args[i + 1];
            else if (args[i].startsWith("--config=")) path = args[i].substring(9);
            if (path != null) {
                try {
                    JsonNode n = new ObjectMapper(new YAMLFactory()).readTree(new File(path));
                    if (n == null || !n.isObject()) throw new UsageException("--config " + path + ": not a YAML mapping");
                    return new YamlConfig(n);
                } catch (IOException e) {
                    throw new UsageException("--config " + path + ": " + e.getMessage().split("\n", 2)[0]);
                }
            }
        }
        return null;
    }

    public static String[] stripConfigArgs(String[] args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config")) { i++; continue; }
            if (args[i].startsWith("--config=")) continue;
            out.add(args[i]);
        }
        return out.toArray(new String[0]);
    }

    @Override
    public String defaultValue(CommandLine.Model.ArgSpec spec) {
        if (!(spec instanceof CommandLine.Model.OptionSpec opt)) return null;
        String key = opt.longestName().replaceFirst("^-+", "");
        String job = spec.command() == null ? null : spec.command().name();
        JsonNode v = job != null && root.has(job) && root.get(job).has(key) ? root.get(job).get(key) : root.get(key);
        if (v == null || v.isNull() || v.isContainerNode()) return null;
        return v.asText();
    }
}
