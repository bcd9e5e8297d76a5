package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.CheckpointSiblings;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetCheckpoint;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The checkpoints of a fleet (docs/fleet.md): positional URIs and globs, and {@code --inputs FILE}: a text file with
 * one URI a line ({@code #} comments), or YAML/JSON, a list (or {@code checkpoints:} list) of URIs or of entries
 * {@code {uri, model?, step?, tags?}}. A glob is expanded by Hadoop's globStatus, every match one checkpoint
 * (a directory, or a .safetensors file); a glob that matches nothing is an error. Relative URIs in a list file are
 * relative to its folder.
 */
final class FleetInputs {
    private static final Set<String> KEYS = Set.of("uri", "model", "step", "tags");

    private FleetInputs() {}

    static List<FleetCheckpoint> resolve(Configuration conf, List<String> positional, String listFile) {
        List<FleetCheckpoint> named = new ArrayList<>();
        if (positional != null) for (String u : positional) named.add(FleetCheckpoint.of(u));
        if (listFile != null) named.addAll(readList(conf, listFile));
        if (named.isEmpty()) throw new UsageException("no checkpoint given: name checkpoints, globs, or --inputs FILE");
        List<FleetCheckpoint> out = new ArrayList<>();
        for (FleetCheckpoint c : named) {
            if (!isGlob(c.uri())) {
                out.add(c);
                continue;
            }
            for (String m : expand(conf, c.uri())) out.add(c.withUri(m));
        }
        return out;
    }

    static boolean isGlob(String uri) {
        return uri.indexOf('*') >= 0 || uri.indexOf('?') >= 0 || uri.indexOf('[') >= 0 || uri.indexOf('{') >= 0;
    }

    /** The glob's matches that can be checkpoints (directories, .safetensors files), in name order. */
    static List<String> expand(Configuration conf, String glob) {
        Path p = new Path(glob);
        try {
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) throw new UsageException(glob + ": no checkpoint matches this pattern");
            List<String> out = new ArrayList<>();
            Arrays.sort(matches, (a, b) -> io.weightlab.common.io.NaturalOrder.INSTANCE.compare(a.getPath().toString(), b.getPath().toString()));
            for (FileStatus st : matches) {
                String name = st.getPath().getName();
                if (name.startsWith("_") || name.startsWith(".")) continue;
                if (st.isDirectory() || name.endsWith(".safetensors")) out.add(st.getPath().toString());
            }
            if (out.isEmpty()) throw new UsageException(glob + ": the pattern matches no directory and no .safetensors file");
            return out;
        } catch (IOException e) {
            throw new UsageException(glob + ": cannot expand the pattern: " + e.getMessage());
        }
    }

    static List<FleetCheckpoint> readList(Configuration conf, String uri) {
        byte[] bytes = CheckpointSiblings.readSmall(conf, uri);
        Path base = new Path(uri).getParent();
        String text = new String(bytes, StandardCharsets.UTF_8);
        boolean structured = uri.endsWith(".yaml") || uri.endsWith(".yml") || uri.endsWith(".json");
        List<FleetCheckpoint> out = new ArrayList<>();
        if (!structured) {
            for (String line : text.split("\\R")) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) continue;
                out.add(FleetCheckpoint.of(resolveAgainst(base, l)));
            }
            if (out.isEmpty()) throw new UsageException(uri + ": the list names no checkpoint");
            return out;
        }
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(bytes);
        } catch (IOException e) {
            throw new UsageException(uri + ": not valid YAML/JSON: " + e.getMessage());
        }
        if (root != null && root.isObject() && root.has("checkpoints")) root = root.get("checkpoints");
        if (root == null || !root.isArray() || root.isEmpty()) {
            throw new UsageException(uri + ": expected a non-empty list of checkpoints (or checkpoints: [...])");
        }
        int i = 0;
        for (JsonNode e : root) {
            String where = uri + ": entry " + i++;
            if (e.isTextual()) {
                out.add(FleetCheckpoint.of(resolveAgainst(base, e.asText())));
                continue;
            }
            if (!e.isObject()) throw new UsageException(where + ": must be a URI or {uri, model, step, tags}");
            for (Iterator<String> it = e.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!KEYS.contains(k)) throw new UsageException(where + ": unknown key '" + k + "'" + Suggestions.didYouMean(k, KEYS));
            }
            if (!e.hasNonNull("uri") || !e.get("uri").isTextual()) throw new UsageException(where + ": 'uri' is required");
            Long step = null;
            if (e.hasNonNull("step")) {
                if (!e.get("step").canConvertToLong() || !e.get("step").isIntegralNumber()) throw new UsageException(where + ": 'step' must be an integer");
                step = e.get("step").asLong();
            }
            Map<String, String> tags = new LinkedHashMap<>();
            if (e.hasNonNull("tags")) {
                if (!e.get("tags").isObject()) throw new UsageException(where + ": 'tags' must be a map of key: value");
                e.get("tags").fields().forEachRemaining(t -> tags.put(t.getKey(), t.getValue().asText()));
            }
            String model = e.hasNonNull("model") ? e.get("model").asText() : null;
            out.add(new FleetCheckpoint(resolveAgainst(base, e.get("uri").asText()), model, step, tags));
        }
        return out;
    }

    private static String resolveAgainst(Path base, String u) {
        Path p = new Path(u);
        if (p.isAbsolute() || p.toUri().getScheme() != null || base == null) return u;
        return new Path(base, u).toString();
    }
}
