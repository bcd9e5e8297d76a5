package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import org.apache.hadoop.conf.Configuration;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The full-checkpoint clients of a round, headers only: every manifest client opened and checked against the
 * template (the reference, else the first readable client). Clients that cannot take part are recorded in the
 * validation, not here.
 */
public record ClientSet(Checkpoint template, Map<String, Checkpoint> clients) {
    /**
     * Opens the manifest's clients (rule PositiveExamples first when the weighting reads examples; an unreadable
     * client is recorded) and checks each against the template (rules SameTensors, SameShapes, SameDtypeKind).
     */
    public static ClientSet open(Configuration conf, Checkpoint reference, boolean weightsByExamples, ClientValidation validation) {
        RoundManifest manifest = validation.manifest();
        Map<String, Checkpoint> opened = new LinkedHashMap<>();
        for (ClientSpec c : manifest.clients()) {
            if (!validation.hasPositiveExamples(c, weightsByExamples)) continue;
            try {
                opened.put(c.id(), CheckpointCatalog.open(conf, c.uri()));
            } catch (RuntimeException e) {
                validation.reject(c.id(), "unreadable: " + e.getMessage());
            }
        }
        Checkpoint template = reference != null ? reference : opened.values().stream().findFirst()
                .orElseThrow(() -> new UsageException(manifest.source() + ": no readable client:" + RoundManifest.problemList(validation.problems())));
        for (Map.Entry<String, Checkpoint> e : new ArrayList<>(opened.entrySet())) {
            String why = ClientValidation.mismatch(template, e.getValue());
            if (why != null) {
                validation.reject(e.getKey(), why);
                opened.remove(e.getKey());
            }
        }
        return new ClientSet(template, opened);
    }

    public List<String> ids() { return new ArrayList<>(clients.keySet()); }

    /** The clients' checkpoints in {@link #ids()} order. */
    public List<Checkpoint> checkpoints() { return new ArrayList<>(clients.values()); }
}
