package io.weightlab.jobs.analysis;

import io.weightlab.jobs.Cli;

import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The reports a person opens: rendered by headless Chromium (Debian's package; .ci/run installs it). */
public class ReportRenderTest {

    static String chromium() {
        for (String c : new String[] {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) if (Files.isExecutable(Path.of(c))) return c;
        String msg = "chromium is not installed (apt-get install chromium): cannot check the report renders";
        if (Fixtures.inCi()) fail(msg);
        Assumptions.abort(msg);
        return null;
    }

    static Python.Result render(Path html, Path profile, String... mode) {
        List<String> cmd = new ArrayList<>(List.of(chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--window-size=1400,1100"));
        cmd.addAll(List.of(mode));
        cmd.add(html.toUri().toString());
        return Python.exec(cmd, 120);
    }

    @Test
    void statsAndSpectrumReportsRenderWithTheirPlots(@TempDir Path tmp) throws IOException {
        String in = Fixtures.dir("all-minilm-l6-v2").toString();
        assertEquals(0, Cli.run("stats", in, "--out", tmp.resolve("stats").toString()).exit());
        assertEquals(0, Cli.run("spectrum", in, "--out", tmp.resolve("spectrum").toString()).exit());
        // the combined report, from the two outputs only
        Cli.Run both = Cli.run("report", "--stats", tmp.resolve("stats").toString(), "--spectrum", tmp.resolve("spectrum").toString(),
                "--out", tmp.resolve("both").toString());
        assertEquals(0, both.exit(), both.err());
        for (String[] job : new String[][] {{"stats", "std by layer", "values of encoder.layer.0.output.dense.weight"},
                {"spectrum", "power-law alpha by layer", "ESD of "},
                {"both", "std by layer", "power-law alpha by layer", "Spectral anomalies", "encoder.layer.0.output.dense.weight"}}) {
            Path html = tmp.resolve(job[0]).resolve("report.html");
            Python.Result dom = render(html, tmp.resolve("profile-" + job[0]), "--dump-dom");
            assertEquals(0, dom.exit(), dom.stderr());
            long svgs = dom.stdout().split("<svg", -1).length - 1;
            assertTrue(svgs >= 4, job[0] + " report has " + svgs + " plots");
            for (int i = 1; i < job.length; i++) assertTrue(dom.stdout().contains(job[i]), job[0] + " report lacks '" + job[i] + "'");
            Path png = tmp.resolve(job[0] + ".png");
            Python.Result shot = render(html, tmp.resolve("profile2-" + job[0]), "--screenshot=" + png);
            assertEquals(0, shot.exit(), shot.stderr());
            assertTrue(Files.size(png) > 50_000, "screenshot of " + job[0] + " is only " + Files.size(png) + " bytes");
        }
    }
}
