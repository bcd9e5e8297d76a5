package io.weightlab.common.io;

import io.weightlab.common.error.CheckpointFormatException;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A {@code model.safetensors.index.json}: {@code weight_map} from tensor name to a shard file name in the same
 * directory. Shard names that could leave the directory (separators, "..", schemes) are refused.
 */
public final class ShardedIndex {
    public static final String DEFAULT_NAME = "model.safetensors.index.json";

    private final Map<String, String> weightMap;
    private final Map<String, Object> metadata;

    private ShardedIndex(Map<String, String> weightMap, Map<String, Object> metadata) {
        this.weightMap = weightMap;
        this.metadata = metadata;
    }

    public static ShardedIndex parse(String file, byte[] bytes) {
        JsonNode root;
        try {
            root = SafetensorsHeader.STRICT_JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (Exception e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().split("\n", 2)[0];
            String rule = msg.startsWith("Duplicate field") ? "DuplicateTensor" : "InvalidIndex";
            throw new CheckpointFormatException(file, null, rule, "index is not valid JSON: " + msg);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(file, null, "InvalidIndex", "index is not a JSON object");
        }
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new CheckpointFormatException(file, null, "InvalidIndex", "missing object 'weight_map'");
        }
        Map<String, String> map = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = wm.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointFormatException(file, e.getKey(), "InvalidIndex", "weight_map value is not a file name");
            }
            String shard = e.getValue().asText();
            checkShardName(file, e.getKey(), shard);
            map.put(e.getKey(), shard);
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) {
            md.fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().isNumber() ? e.getValue().numberValue() : e.getValue().asText()));
        }
        return new ShardedIndex(Collections.unmodifiableMap(map), Collections.unmodifiableMap(meta));
    }

    /** A shard must be a plain file name in the index's own directory. */
    static void checkShardName(String file, String tensor, String shard) {
        boolean bad = shard.isEmpty() || shard.equals(".") || shard.equals("..") || shard.contains("/")
                || shard.contains("\\") || shard.contains(":") || shard.indexOf('\0') >= 0 || shard.startsWith("~");
        if (bad) {
            throw new CheckpointFormatException(file, tensor, "IndexEscapesDirectory",
                    "shard '" + shard + "' is not a plain file name in the index's directory");
        }
    }

    public Map<String, String> weightMap() { return weightMap; }

    public Map<String, Object> metadata() { return metadata; }

    /** Shard file names in first-mention order. */
    public Set<String> shards() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(weightMap.values()));
    }
}
