package io.weightlab.common.fed;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.error.UsageException;
import org.apache.hadoop.fs.Path;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A round: {@code round} (a number or label), optional {@code reference} (the previous global model: update norms,
 * clipping and the conservative correction are relative to it), and {@code clients}: [{id, uri, examples, weight?}];
 * relative URIs are relative to the manifest's folder.
 * Parsed from JSON or YAML (the job picks the parser); every problem is reported with the client it concerns.
 */
public record RoundManifest(String source, String round, String reference, List<ClientSpec> clients) implements Serializable {
    /** A URI scheme ({@code s3a:}, {@code hdfs:}, {@code file:}); two letters at least, so a Windows drive is not one. */
    private static final Pattern SCHEME = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]+:");

    public static RoundManifest fromTree(String source, JsonNode root) {
        if (root == null || !root.isObject()) throw new UsageException(source + ": a round manifest is an object with a 'clients' list");
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!Set.of("round", "reference", "clients").contains(k)) throw new UsageException(source + ": unknown key '" + k + "' (known: round, reference, clients)");
        }
        JsonNode list = root.get("clients");
        if (list == null || !list.isArray() || list.isEmpty()) throw new UsageException(source + ": 'clients' must be a non-empty list");
        List<ClientSpec> clients = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        int i = 0;
        for (JsonNode c : list) {
            String where = source + ": clients[" + i++ + "]";
            if (!c.isObject()) throw new UsageException(where + " is not an object");
            for (Iterator<String> it = c.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!Set.of("id", "uri", "examples", "weight").contains(k)) throw new UsageException(where + ": unknown key '" + k + "' (known: id, uri, examples, weight)");
            }
            String id = text(c, "id", where);
            String uri = resolve(source, text(c, "uri", where));
            if (!ids.add(id)) throw new UsageException(where + ": duplicate client id '" + id + "' (rule: UniqueClientIds)");
            JsonNode ex = c.get("examples");
            long examples = -1;
            if (ex != null) {
                if (!ex.isIntegralNumber()) throw new UsageException(where + " '" + id + "': examples must be an integer, got " + ex);
                examples = ex.asLong();
            }
            Double weight = null;
            if (c.has("weight")) {
                if (!c.get("weight").isNumber()) throw new UsageException(where + " '" + id + "': weight must be a number");
                weight = c.get("weight").asDouble();
            }
            clients.add(new ClientSpec(id, uri, examples, weight));
        }
        String round = root.has("round") ? root.get("round").asText() : null;
        String reference = root.has("reference") ? resolve(source, root.get("reference").asText()) : null;
        return new RoundManifest(source, round, reference, List.copyOf(clients));
    }

    /**
     * A relative {@code uri} or {@code reference} is relative to the manifest's own folder, as a path in a file is
     * relative to the file (a manifest beside its clients moves with them); a scheme or a leading '/' is kept as is.
     */
    static String resolve(String source, String uri) {
        if (uri.startsWith("/") || SCHEME.matcher(uri).lookingAt()) return uri;
        Path folder = new Path(source).getParent();
        return folder == null ? uri : new Path(folder, uri).toString();
    }

    /** Per-client problems as one indented line each ({@code client 'a': why}), for an error message. */
    public static String problemList(Map<String, String> problems) {
        StringBuilder sb = new StringBuilder();
        problems.forEach((id, why) -> sb.append("\n  client '").append(id).append("': ").append(why));
        return sb.toString();
    }

    /** The client with this id. */
    public ClientSpec client(String id) {
        for (ClientSpec c : clients) if (c.id().equals(id)) return c;
        throw new IllegalArgumentException("no client '" + id + "' in " + source);
    }

    private static String text(JsonNode c, String key, String where) {
        JsonNode v = c.get(key);
        if (v == null || !v.isTextual() || v.asText().isBlank()) throw new UsageException(where + ": '" + key + "' (a string) is required");
        return v.asText();
    }
}
