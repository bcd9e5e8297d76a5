package io.weightlab.common.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The real checkpoints in ../shared/fixtures. When that folder is absent a test is skipped with a message
 * saying so; under CI (CI=true), where it is always present, its absence fails the test instead.
 */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {}

    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI")) || "true".equalsIgnoreCase(System.getProperty("weightlab.ci"));
    }

    public static Path sharedDir() {
        String p = System.getProperty("weightlab.shared.dir");
        return p != null ? Paths.get(p) : Paths.get("..", "..", "shared");
    }

    /** The fixture folder, or skip (fail under CI) when it is missing. */
    public static Path dir(String name) {
        Path d = sharedDir().resolve("fixtures").resolve(name).toAbsolutePath().normalize();
        if (!Files.isDirectory(d)) {
            String msg = "fixture folder " + d + " is absent: skipping (tests read real checkpoints from ../shared/fixtures)";
            if (inCi()) fail(msg + " -- but CI must have it");
            Assumptions.abort(msg);
        }
        return d;
    }

    public static JsonNode reference(String name) {
        try {
            return JSON.readTree(dir(name).resolve("reference.json").toFile());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
