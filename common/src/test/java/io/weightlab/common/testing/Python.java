package io.weightlab.common.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the reference Python libraries (numpy, safetensors, ml_dtypes, ...) as an independent oracle. .ci/run
 * installs them from the machine's offline wheels; without them a test is skipped locally and fails under CI.
 */
public final class Python {
    private Python() {}

    public static String exe() {
        String p = System.getenv("WEIGHTLAB_PYTHON");
        return p != null ? p : "python3";
    }

    /** Skips (fails under CI) unless every module imports. */
    public static void require(String... modules) {
        String code = "import " + String.join(", ", modules);
        Result r = exec(List.of(exe(), "-c", code), 120);
        if (r.exit != 0) {
            String msg = "python modules " + String.join(", ", modules) + " are not importable (" + r.stderr.strip()
                    + "): install them with `pip install " + String.join(" ", modules).replace('_', '-') + "`";
            if (Fixtures.inCi()) fail(msg);
            Assumptions.abort(msg);
        }
    }

    /** Runs a script from src/test/python (of the module that owns it) and returns stdout; fails on non-zero exit. */
    public static String script(Path script, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(exe());
        cmd.add(script.toString());
        cmd.addAll(List.of(args));
        Result r = exec(cmd, 600);
        if (r.exit != 0) fail("python " + script.getFileName() + " failed (" + r.exit + "):\n" + r.stderr);
        return r.stdout;
    }

    /** A test script: this module's src/test/python first, then the common module's. */
    public static Path testScript(String name) {
        for (Path base : List.of(Paths.get("src/test/python"), Paths.get("../common/src/test/python"))) {
            Path p = base.resolve(name);
            if (Files.exists(p)) return p.toAbsolutePath();
        }
        throw new IllegalStateException("test script " + name + " not found");
    }

    /** A script shipped to users in the repository's tools/ folder. */
    public static Path tool(String name) {
        for (Path base : List.of(Paths.get("../tools"), Paths.get("tools"))) {
            Path p = base.resolve(name);
            if (Files.exists(p)) return p.toAbsolutePath();
        }
        throw new IllegalStateException("tool " + name + " not found");
    }

    public record Result(int exit, String stdout, String stderr) {}

    public static Result exec(List<String> cmd, int timeoutSeconds) {
        try {
            Path out = Files.createTempFile("py", ".out");
            Path err = Files.createTempFile("py", ".err");
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("timed out: " + cmd);
            }
            Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            return r;
        } catch (IOException e) {
            return new Result(127, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
