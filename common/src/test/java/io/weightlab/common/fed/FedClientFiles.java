package io.weightlab.common.fed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.testing.Python;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The small clients of fed_clients.py (written by the reference safetensors library, once per test JVM) with numpy's
 * numbers for them, and round manifests over them.
 */
final class FedClientFiles {
    static final ObjectMapper JSON = new ObjectMapper();
    private static Path dir;
    private static JsonNode numpy;

    private FedClientFiles() {}

    static synchronized Path dir() {
        if (dir == null) {
            Python.require("numpy", "safetensors");
            try {
                Path d = Files.createTempDirectory("fed-clients");
                numpy = JSON.readTree(Python.script(Python.testScript("fed_clients.py"), d.toString()));
                dir = d;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    /** numpy's numbers: clients.goodK.{var_w, var_b, update_norm}, ref_var_w, outliers_z3. */
    static JsonNode numpy() {
        dir();
        return numpy;
    }

    static String uri(String client) { return dir().resolve(client).toString(); }

    /** A manifest over the named clients with 10 examples each (a client "name:N" has N), the reference when asked. */
    static RoundManifest manifest(boolean withReference, String... clients) {
        ObjectNode root = JSON.createObjectNode();
        root.put("round", "1");
        if (withReference) root.put("reference", uri("reference"));
        ArrayNode list = root.putArray("clients");
        for (String c : clients) {
            String[] parts = c.split(":");
            ObjectNode n = list.addObject();
            n.put("id", parts[0]);
            n.put("uri", uri(parts[0]));
            n.put("examples", parts.length > 1 ? Long.parseLong(parts[1]) : 10);
        }
        return RoundManifest.fromTree("test-manifest", root);
    }
}
