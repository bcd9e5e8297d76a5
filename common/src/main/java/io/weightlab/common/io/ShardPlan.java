package io.weightlab.common.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How tensors are split into shard files, as huggingface_hub's {@code split_torch_state_dict_into_shards}
 * does it: greedily in the given order, a new shard when the next tensor would pass {@code maxShardBytes}
 * (10^9-based, default 5 GB), a tensor larger than the limit alone in its shard; files named
 * {@code model-0000i-of-0000N.safetensors}, or {@code model.safetensors} when one shard suffices.
 */
public final class ShardPlan {
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    /** One shard: its file name and its tensors' specs. */
    public record Shard(String fileName, List<SafetensorsLayout.Spec> specs) {
        public long dataBytes() {
            long s = 0;
            for (SafetensorsLayout.Spec sp : specs) s += sp.byteLength();
            return s;
        }
    }

    private final List<Shard> shards;

    private ShardPlan(List<Shard> shards) {
        this.shards = shards;
    }

    public static ShardPlan of(List<SafetensorsLayout.Spec> specs, long maxShardBytes, String prefix) {
        List<List<SafetensorsLayout.Spec>> groups = new ArrayList<>();
        List<SafetensorsLayout.Spec> cur = new ArrayList<>();
        long size = 0;
        for (SafetensorsLayout.Spec s : specs) {
            long b = s.byteLength();
            if (!cur.isEmpty() && size + b > maxShardBytes) {
                groups.add(cur);
                cur = new ArrayList<>();
                size = 0;
            }
            cur.add(s);
            size += b;
        }
        if (!cur.isEmpty() || groups.isEmpty()) groups.add(cur);
        List<Shard> out = new ArrayList<>();
        int n = groups.size();
        for (int i = 0; i < n; i++) {
            String name = n == 1 ? prefix + ".safetensors"
                    : String.format(Locale.ROOT, "%s-%05d-of-%05d.safetensors", prefix, i + 1, n);
            out.add(new Shard(name, List.copyOf(groups.get(i))));
        }
        return new ShardPlan(List.copyOf(out));
    }

    public List<Shard> shards() { return shards; }

    public boolean isSharded() { return shards.size() > 1; }

    /** The {@code model.safetensors.index.json} text: total_size and the weight_map (sorted by name, as HF writes it). */
    public String indexJson(Map<String, Object> extraMetadata) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode md = root.putObject("metadata");
        if (extraMetadata != null) extraMetadata.forEach((k, v) -> md.putPOJO(k, v));
        long total = 0;
        TreeMap<String, String> map = new TreeMap<>();
        for (Shard s : shards) {
            total += s.dataBytes();
            for (SafetensorsLayout.Spec sp : s.specs()) map.put(sp.name(), s.fileName());
        }
        md.put("total_size", total);
        ObjectNode wm = root.putObject("weight_map");
        map.forEach(wm::put);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
