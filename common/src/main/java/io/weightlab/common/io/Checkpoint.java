package io.weightlab.common.io;

import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the driver knows about a checkpoint after reading headers only: its shards and every tensor's byte range. */
public final class Checkpoint implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One safetensors file of the checkpoint. */
    public record Shard(String file, long length, long headerLength, Map<String, String> metadata) implements Serializable {}

    private final String root;
    private final List<Shard> shards;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;

    public Checkpoint(String root, List<Shard> shards, List<TensorInfo> tensors) {
        this.root = root;
        this.shards = List.copyOf(shards);
        this.tensors = List.copyOf(tensors);
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : tensors) m.put(t.name(), t);
        this.byName = Collections.unmodifiableMap(m);
    }

    /** The URI the user gave (directory, file, index or glob). */
    public String root() { return root; }

    public List<Shard> shards() { return shards; }

    /** Tensors in natural name order (layer 2 before layer 10). */
    public List<TensorInfo> tensors() { return tensors; }

    public TensorInfo tensor(String name) { return byName.get(name); }

    public long totalBytes() {
        long s = 0;
        for (Shard sh : shards) s += sh.length();
        return s;
    }

    public long parameterCount() {
        long s = 0;
        for (TensorInfo t : tensors) s += t.elementCount();
        return s;
    }
}
