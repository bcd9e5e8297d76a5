package io.weightlab.jobs.federated;

import io.weightlab.jobs.spark.CheckpointSiblings;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.weightlab.common.fed.RoundManifest;
import io.weightlab.common.error.UsageException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Arrays;

/**
 * Where a round's manifest comes from: a JSON or YAML file ({@code --manifest}), or a prefix with one directory per
 * client, each holding {@code client.json} ({@code --clients-prefix}; {@code _reference/} beside them is the previous
 * global). Both end in {@link RoundManifest#fromTree}, so both are checked by the same rules.
 */
final class RoundManifests {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RoundManifests() {}

    static RoundManifest read(Configuration conf, String uri) {
        byte[] bytes = CheckpointSiblings.readSmall(conf, uri);
        try {
            JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(bytes); // YAML is a superset of JSON
            return RoundManifest.fromTree(uri, root);
        } catch (IOException e) {
            throw new UsageException(uri + ": not a valid JSON/YAML round manifest: " + e.getMessage());
        }
    }

    /** client.json {"examples": N, "weight": w?, "id": ...?}; the id defaults to the directory's name. */
    static RoundManifest discover(Configuration conf, String prefix) {
        if (prefix == null) throw new UsageException("give --manifest FILE or --clients-prefix URI");
        Path p = new Path(prefix);
        ObjectNode tree = JSON.createObjectNode();
        ArrayNode clients = tree.putArray("clients");
        try {
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] dirs = fs.listStatus(p);
            Arrays.sort(dirs, (a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
            for (FileStatus d : dirs) {
                String name = d.getPath().getName();
                if (!d.isDirectory() || name.startsWith("_") || name.startsWith(".")) continue;
                Path meta = new Path(d.getPath(), "client.json");
                if (!fs.exists(meta)) throw new UsageException(d.getPath() + ": no client.json (with \"examples\") in this client directory");
                JsonNode j = JSON.readTree(CheckpointSiblings.readSmall(conf, meta.toString()));
                if (!j.isObject()) throw new UsageException(meta + ": client.json must be an object");
                ObjectNode c = ((ObjectNode) j).deepCopy();
                if (!c.hasNonNull("id")) c.put("id", name);
                c.put("uri", d.getPath().toString());
                clients.add(c);
            }
            Path ref = new Path(p, "_reference");
            if (fs.exists(ref)) tree.put("reference", ref.toString());
        } catch (java.io.FileNotFoundException e) {
            throw new UsageException(prefix + ": no such client directory prefix");
        } catch (IOException e) {
            throw new UsageException(prefix + ": cannot list clients: " + e.getMessage());
        }
        if (clients.isEmpty()) throw new UsageException(prefix + ": no client directories");
        return RoundManifest.fromTree(prefix, tree);
    }
}
