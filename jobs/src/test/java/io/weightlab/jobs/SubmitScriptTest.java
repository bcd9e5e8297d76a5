package io.weightlab.jobs;

import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster wrapper's dry run: the spark-submit command users will run, and no credentials in it. */
public class SubmitScriptTest {
    static Path script() {
        Path p = Paths.get("../submit-scripts/submit");
        return p.toAbsolutePath().normalize();
    }

    static Python.Result run(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("env", "AWS_ACCESS_KEY_ID=AKIATESTKEY", "AWS_SECRET_ACCESS_KEY=s3cr3t-do-not-print",
                "bash", script().toString()));
        cmd.addAll(List.of(args));
        return Python.exec(cmd, 60);
    }

    @Test
    void dryRunsForStandaloneYarnAndKubernetes() {
        for (String[] m : new String[][] {{"spark://10.0.0.1:7077"}, {"yarn", "--deploy-mode", "cluster"},
                {"k8s://https://api:6443", "--image", "repo/spark:4.0.1"}}) {
            List<String> args = new java.util.ArrayList<>(List.of("--dry-run", "--master"));
            args.addAll(List.of(m));
            args.addAll(List.of("--", "stats", "s3a://bucket/model", "--out", "s3a://bucket/report"));
            Python.Result r = run(args.toArray(new String[0]));
            assertEquals(0, r.exit(), r.stderr());
            String cmd = r.stdout();
            assertTrue(cmd.startsWith("spark-submit ") || cmd.contains("/bin/spark-submit "), cmd);
            assertTrue(cmd.contains("--master " + m[0].replace(":", "\\:").replace("[", "\\[")) || cmd.contains("--master " + m[0]), cmd);
            assertTrue(cmd.contains("--class io.weightlab.jobs.WeightLab"), cmd);
            assertTrue(cmd.contains("weightlab-jobs-0.1.0-SNAPSHOT-spark.jar stats s3a://bucket/model --out s3a://bucket/report"), cmd);
            assertTrue(cmd.contains("--properties-file"), cmd);
            if (m[0].startsWith("k8s")) assertTrue(cmd.contains("podTemplateFile") && cmd.contains("container.image=repo/spark:4.0.1"), cmd);
            assertFalse(cmd.contains("s3cr3t") || cmd.contains("AKIATESTKEY"), "credentials on the command line: " + cmd);
        }
    }

    @Test
    void helpAndUsageErrors() {
        Python.Result help = run("--help");
        assertEquals(0, help.exit());
        assertTrue(help.stdout().contains("--dry-run"), help.stdout());
        assertEquals(2, run("--master", "yarn").exit(), "no job");
        assertEquals(2, run("--dry-run", "--master", "k8s://https://api", "--", "stats", "x").exit(), "k8s without an image");
        assertEquals(2, run("--bogus").exit());
    }
}
