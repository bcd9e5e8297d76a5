package io.weightlab.common.fleet;

import java.io.Serializable;
import java.util.Map;

/**
 * One checkpoint of a fleet as the user named it: its URI (a .safetensors file, a sharded directory or a PEFT
 * adapter directory), an optional model label and step (null: derived, {@link FleetLabels}), and free-form tags.
 */
public record FleetCheckpoint(String uri, String model, Long step, Map<String, String> tags) implements Serializable {
    public FleetCheckpoint {
        tags = tags == null ? Map.of() : Map.copyOf(tags);
    }

    public static FleetCheckpoint of(String uri) {
        return new FleetCheckpoint(uri, null, null, Map.of());
    }

    public FleetCheckpoint withUri(String u) { return new FleetCheckpoint(u, model, step, tags); }

    public FleetCheckpoint withLabel(String m, Long s) { return new FleetCheckpoint(uri, m, s, tags); }
}
