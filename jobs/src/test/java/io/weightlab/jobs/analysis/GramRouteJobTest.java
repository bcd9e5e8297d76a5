package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code spectrum} picks its full-spectrum route per matrix: by default (auto) the Gram route where certified,
 * dgesdd where not; {@code --method exact} is dgesdd for all. Values against numpy's gesdd, route and certificate
 * read back from spectrum.json. Oracle: numpy draws the matrices (a Gaussian one, one planted with σ₁/σ_min = 1e6).
 */
class GramRouteJobTest {
    static final String GAUSS = "model.layers.0.self_attn.q_proj.weight", ILL = "model.layers.0.mlp.down_proj.weight";

    @Test
    void autoTakesTheGramRouteWhereCertifiedAndExactNever(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "safetensors");
        Path ckpt = tmp.resolve("model.safetensors");
        JsonNode numpy = new ObjectMapper().readTree(Python.script(Python.testScript("gram_route_checkpoint.py"), ckpt.toString()));

        Map<String, JsonNode> auto = rows(tmp, ckpt, "auto");
        JsonNode g = auto.get(GAUSS), ill = auto.get(ILL);
        assertEquals("gram", g.get("sv_route").asText());
        assertEquals(true, g.get("sv_certified").asBoolean());
        assertEquals("gesdd_fallback", ill.get("sv_route").asText(), ill.toString());
        // dgesdd on σ₁/σ_min = 1e6: ε·1e6 ≈ 2.2e-10, itself within the 8 digits
        assertEquals(Math.ulp(1.0) * 1e6, ill.get("sv_rel_error_est").asDouble(), 1e-3 * Math.ulp(1.0) * 1e6);
        assertEquals(true, ill.get("sv_certified").asBoolean());
        assertValues(numpy.get(GAUSS), tmp.resolve("auto"), GAUSS, 1e-8);
        assertValues(numpy.get(ILL), tmp.resolve("auto"), ILL, 1e-8);

        Map<String, JsonNode> exact = rows(tmp, ckpt, "exact");
        for (String name : new String[] {GAUSS, ILL}) {
            assertEquals("gesdd", exact.get(name).get("sv_route").asText(), name);
            assertEquals("exact (LAPACK dgesdd, float64)", exact.get(name).get("method").asText(), name);
            assertValues(numpy.get(name), tmp.resolve("exact"), name, 1e-8);
        }
    }

    static Map<String, JsonNode> rows(Path tmp, Path ckpt, String method) throws IOException {
        Path out = tmp.resolve(method);
        Cli.Run r = Cli.run("spectrum", ckpt.toString(), "--out", out.toString(), "--method", method, "--no-powerlaw");
        assertEquals(0, r.exit(), r.err());
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode m : new ObjectMapper().readTree(out.resolve("spectrum.json").toFile()).get("matrices")) byName.put(m.get("name").asText(), m);
        return byName;
    }

    /** Every written singular value within {@code rel} of numpy's, relative to itself. */
    static void assertValues(JsonNode numpy, Path out, String name, double rel) throws IOException {
        JsonNode ours = new ObjectMapper().readTree(out.resolve(SpectrumJob.SINGULAR_VALUES).toFile()).get(name);
        assertEquals(numpy.size(), ours.size(), name);
        for (int i = 0; i < numpy.size(); i++) {
            double e = numpy.get(i).asDouble();
            assertEquals(e, ours.get(i).asDouble(), rel * e, name + " σ" + i + " in " + out.getFileName());
        }
    }
}
