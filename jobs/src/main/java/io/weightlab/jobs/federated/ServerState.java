package io.weightlab.jobs.federated;

import io.weightlab.jobs.spark.CheckpointSiblings;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A server optimiser's state between rounds, written beside the global model as {@code server_state/}: {@code m/}
 * and {@code v/} (float32 checkpoints with the model's tensor names) and {@code state.json} (optimiser, step count,
 * parameters, round). The next round reads it with {@code --server-state <previous out>/server_state}.
 */
record ServerState(String dir, int step, Checkpoint m, Checkpoint v) implements Serializable {
    static final String FILE = "state.json";

    TensorInfo m(TensorInfo t) { return check(m, t); }

    TensorInfo v(TensorInfo t) { return v == null ? null : check(v, t); }

    private TensorInfo check(Checkpoint c, TensorInfo t) {
        TensorInfo s = c.tensor(t.name());
        if (s == null || !Arrays.equals(s.shape(), t.shape())) {
            throw new UsageException(c.root() + ": server state has no tensor '" + t.name() + "' of shape " + t.shapeString() + " (rule: StateMatchesModel)");
        }
        return s;
    }

    static ServerState read(Configuration conf, String dir, String optimizer) {
        String base = dir.replaceAll("/+$", "");
        JsonNode j;
        try {
            j = new ObjectMapper().readTree(CheckpointSiblings.readSmall(conf, base + "/" + FILE));
        } catch (IOException e) {
            throw new UsageException(base + "/" + FILE + ": not valid JSON: " + e.getMessage());
        }
        if (!optimizer.equals(j.path("optimizer").asText())) {
            throw new UsageException(base + ": the state is " + j.path("optimizer").asText() + "'s, not " + optimizer + "'s (rule: SameServerOptimizer)");
        }
        Checkpoint m = CheckpointCatalog.open(conf, base + "/m");
        Checkpoint v = j.path("has_v").asBoolean(false) ? CheckpointCatalog.open(conf, base + "/v") : null;
        return new ServerState(base, j.path("step").asInt(), m, v);
    }

    static String json(String optimizer, int step, Map<String, String> params, String round) throws IOException {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("optimizer", optimizer);
        j.put("step", step);
        j.put("has_v", !optimizer.equals("fedavgm"));
        j.put("params", params == null ? Map.of() : new TreeMap<>(params));
        j.put("round", round);
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(j);
    }
}
