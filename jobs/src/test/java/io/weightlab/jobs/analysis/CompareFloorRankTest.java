package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code compare}'s delta_matrix_rank uses the stored dtype's epsilon (issue #20): a planted rank-4 update of a
 * 384 x 384 F32 matrix and a rank-3 update of a 64 x 48 BF16 matrix report their planted ranks, as numpy's floor rank
 * on the stored arrays does (delta_rank_check.py), where double's epsilon counted the rounding noise as full rank.
 */
public class CompareFloorRankTest {
    @Test
    void floorRankOfAPlantedUpdateInF32AndBf16(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "torch", "safetensors");
        JsonNode ref = new ObjectMapper().readTree(Python.script(Python.testScript("delta_rank_check.py"), tmp.toString()));
        for (String c : new String[] {"f32", "bf16"}) {
            JsonNode want = ref.get(c);
            // the bug this fixes: double's epsilon sees the stored rounding as full rank
            assertEquals(c.equals("f32") ? 384 : 48, want.get("double_eps").asInt(), c + ": numpy with float64 epsilon");
            Path out = tmp.resolve("out-" + c);
            Cli.Run r = Cli.run("compare", tmp.resolve(c).resolve("ref").toString(), tmp.resolve(c).resolve("tuned").toString(), "--out", out.toString());
            assertEquals(0, r.exit(), r.err());
            JsonNode t = new ObjectMapper().readTree(out.resolve("compare.json").toFile()).get("tensors").get(0);
            assertEquals(want.get("planted").asInt(), t.get("delta_matrix_rank").asInt(), c + ": planted rank");
            assertEquals(want.get("numpy_stored").asInt(), t.get("delta_matrix_rank").asInt(), c + ": numpy's floor rank on the stored arrays");
            assertEquals(want.get("eps").asDouble(), t.get("delta_rank_floor_eps").asDouble(), 0.0, c + ": the stored dtype's epsilon");
        }
    }
}
