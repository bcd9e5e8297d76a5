package io.weightlab.jobs;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The same thing is spelled the same way in every job: --out, --out-dtype, --slice-mb (one meaning, one default). */
public class OptionConsistencyTest {
    static final List<String> JOBS = List.of("inspect", "stats", "spectrum", "report", "import", "rescale", "lora-init", "lora-convert",
            "fedavg", "synth", "compare", "upcycle", "shrink", "grow", "lr-scales", "extend-vocab");

    /** The --slice-mb entry of a job's --help: its line in the option list and the description's continuation lines. */
    static String sliceLine(String help) {
        List<String> lines = help.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).matches("\\s+--slice-mb=.*")) continue;
            StringBuilder sb = new StringBuilder(lines.get(i));
            for (int j = i + 1; j < lines.size() && lines.get(j).matches("\\s{8,}\\S.*"); j++) sb.append(' ').append(lines.get(j).strip());
            return sb.toString();
        }
        return "(no --slice-mb)";
    }

    @Test
    void everyJobWritesWithOutAndSlicesMeanStoredBytesWithOneDefault() {
        for (String job : JOBS) {
            Cli.Run h = Cli.run(job, "--help");
            assertEquals(0, h.exit(), job);
            assertTrue(h.out().lines().anyMatch(l -> l.matches("\\s+-o, (--\\w+, )*--out=.*")), job + " writes with -o/--out:\n" + h.out());
        }
        String stats = sliceLine(Cli.run("stats", "--help").out());
        assertTrue(stats.contains("MiB of stored tensor bytes") && stats.contains("default: 64"), stats);
        for (String job : List.of("rescale", "compare")) assertEquals(stats, sliceLine(Cli.run(job, "--help").out()), job);
    }

    @Test
    void aMisspelledOptionIsNamedWithoutTheValueThatFollowsIt(@TempDir Path tmp) throws java.io.IOException {
        Cli.Run r = Cli.run("stats", CliTest.nanFile(tmp).toString(), "--slcie-mb", "3", "--gg-fitt=moments");
        assertEquals(2, r.exit());
        List<String> err = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(List.of("weightlab stats: error: Unknown options: '--slcie-mb', '--gg-fitt' (did you mean '--slice-mb'?)",
                "Try 'weightlab stats --help'."), err);
    }

    @Test
    void synthCastsWithOutDtypeAndKeepsDtypeAsTheOldSpelling(@TempDir Path tmp) {
        for (String flag : List.of("--out-dtype", "--dtype")) {
            Path out = tmp.resolve(flag.substring(2));
            Cli.Run r = Cli.run("synth", "--preset", "llama-tiny", "--layers", "1", "--out", out.toString(), flag, "F16");
            assertEquals(0, r.exit(), r.err());
            Checkpoint c = CheckpointCatalog.open(new Configuration(), out.toUri().toString());
            for (TensorInfo t : c.tensors()) assertEquals(DType.F16, t.dtype(), flag + ": " + t.name());
        }
        String help = Cli.run("synth", "--help").out();
        assertTrue(help.contains("--dtype, --out-dtype=") && help.contains("the old spelling"), help);
    }
}
