package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.report.CompareReport;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.common.testing.Python;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The reports a person opens, in a real browser: Debian's chromium driven by chromedriver through Selenium, offline.
 * Every page loads with no console error and no network request, its charts draw non-blank canvases, the tensor
 * table sorts and filters, and the ESD gallery has one chart per analysed matrix. Screenshots go to
 * target/report-screenshots (and to $WEIGHTLAB_SCREENSHOTS, e.g. docs/, when set).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public class ReportRenderTest {
    static final ObjectMapper JSON = new ObjectMapper();
    Path tmp;
    ChromeDriver driver;

    @BeforeAll
    void browser() throws IOException {
        for (String f : new String[] {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
            if (!Files.isExecutable(Path.of(f))) {
                String msg = f + " is not installed (apt-get install chromium chromium-driver): cannot check the reports in a browser";
                if (Fixtures.inCi()) fail(msg);
                Assumptions.abort(msg);
            }
        }
        tmp = Files.createTempDirectory("report-render");
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + tmp.resolve("profile"));
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        logs.enable(LogType.PERFORMANCE, Level.ALL);
        o.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver")).build();
        driver = new ChromeDriver(service, o);
    }

    @AfterAll
    void close() throws IOException {
        if (driver != null) driver.quit();
        if (tmp != null) try (var w = Files.walk(tmp)) { w.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete()); }
    }

    /** Opens the page and checks it loaded offline and cleanly; returns the JS executor. */
    JavascriptExecutor open(Path html) {
        driver.manage().logs().get(LogType.PERFORMANCE); // drop what earlier pages logged
        driver.manage().logs().get(LogType.BROWSER);
        driver.manage().window().setSize(new Dimension(1400, 1000));
        driver.get(html.toUri().toString());
        JavascriptExecutor js = driver;
        assertEquals("true", js.executeScript("return document.body.getAttribute('data-report-ready')"),
                "report.js finished: " + js.executeScript("return document.body.getAttribute('data-report-error')"));
        List<String> errors = new ArrayList<>();
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) if (e.getLevel().intValue() >= Level.WARNING.intValue()) errors.add(e.getMessage());
        assertTrue(errors.isEmpty(), html + ": console errors " + errors);
        List<String> requests = new ArrayList<>();
        for (LogEntry e : driver.manage().logs().get(LogType.PERFORMANCE)) {
            JsonNode m = readTree(e.getMessage()).path("message");
            if (!m.path("method").asText().equals("Network.requestWillBeSent")) continue;
            String url = m.path("params").path("request").path("url").asText();
            if (!url.equals(html.toUri().toString()) && !url.startsWith("data:")) requests.add(url);
        }
        assertTrue(requests.isEmpty(), html + ": network requests " + requests);
        assertEquals(0L, ((Number) js.executeScript("return performance.getEntriesByType('resource').length")).longValue(), "resources fetched");
        return js;
    }

    /** Pixels of each canvas under the selector that are neither blank nor near-white. */
    @SuppressWarnings("unchecked")
    static List<Long> inkedPixels(JavascriptExecutor js, String selector) {
        return (List<Long>) js.executeScript("return Array.from(document.querySelectorAll(arguments[0])).map(function (c) {"
                + " var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;"
                + " for (var i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 230 || d[i + 1] < 230 || d[i + 2] < 230)) n++; return n; })", selector);
    }

    static void assertCharts(JavascriptExecutor js, String selector, int atLeast) {
        List<Long> ink = inkedPixels(js, selector);
        assertTrue(ink.size() >= atLeast, selector + ": " + ink.size() + " canvases, expected at least " + atLeast);
        for (int i = 0; i < ink.size(); i++) assertTrue(ink.get(i) > 2000, selector + " canvas " + i + " is blank (" + ink.get(i) + " pixels)");
    }

    void screenshot(String name) throws IOException {
        long h = ((Number) driver.executeScript("return document.documentElement.scrollHeight")).longValue();
        driver.manage().window().setSize(new Dimension(1400, (int) Math.min(h + 140, 9000)));
        driver.executeScript("window.weightlabCharts.forEach(function (c) { c.resize(); }); window.scrollTo(0, 0)");
        Path dir = Path.of("target", "report-screenshots");
        Files.createDirectories(dir);
        Path png = dir.resolve("report-" + name + ".png");
        Files.write(png, driver.getScreenshotAs(OutputType.BYTES));
        assertTrue(Files.size(png) > 50_000, png + " is only " + Files.size(png) + " bytes");
        String docs = System.getenv("WEIGHTLAB_SCREENSHOTS");
        if (docs != null && !docs.isBlank()) Files.copy(png, Path.of(docs).resolve(png.getFileName()), StandardCopyOption.REPLACE_EXISTING);
    }

    static JsonNode readTree(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Path stats, spectrum, both;
    JsonNode specJson;
    List<JsonNode> tensors;
    int analysed, skipped;

    /** stats and spectrum on MiniLM once, and the combined report from their outputs. */
    void analyses() throws IOException {
        if (stats != null) return;
        String in = Fixtures.dir("all-minilm-l6-v2").toString();
        stats = tmp.resolve("stats");
        spectrum = tmp.resolve("spectrum");
        both = tmp.resolve("both");
        assertEquals(0, Cli.run("stats", in, "--out", stats.toString()).exit());
        assertEquals(0, Cli.run("spectrum", in, "--out", spectrum.toString()).exit());
        Cli.Run r = Cli.run("report", "--stats", stats.toString(), "--spectrum", spectrum.toString(), "--out", both.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode statsJson = JSON.readTree(stats.resolve("stats.json").toFile());
        specJson = JSON.readTree(spectrum.resolve("spectrum.json").toFile());
        tensors = new ArrayList<>();
        for (JsonNode row : statsJson.get("rows")) if (row.get("level").asText().equals("tensor")) tensors.add(row);
        analysed = 0;
        skipped = 0;
        for (JsonNode m : specJson.get("matrices")) if (m.get("status").asText().equals("ok")) analysed++; else skipped++;

        for (Path page : List.of(stats.resolve("report.html"), spectrum.resolve("report.html"), both.resolve("report.html"))) {
            long bytes = Files.size(page);
            System.out.println("report page " + page.getParent().getFileName() + ": " + bytes + " bytes");
            assertTrue(bytes < 2_500_000, page + " is " + bytes + " bytes");
            String html = Files.readString(page);
            assertEquals(2, html.split("Licensed to the Apache Software Foundation", -1).length, page + ": ECharts inlined once");
            assertEquals(-1, html.indexOf("src=\"http"), "no external script");
        }
    }

    @Test
    void statsPageDrawsSortsAndFilters() throws IOException {
        analyses();
        // heatmap, lines by layer, histogram; the tensor table sorts and filters
        JavascriptExecutor js = open(stats.resolve("report.html"));
        assertCharts(js, "#heatmap canvas", 1);
        assertCharts(js, "#layer-lines canvas", 5);
        assertCharts(js, "#histogram canvas", 1);
        // one value histogram per tensor, drawn as it scrolls into view, with the densities of histograms.json
        List<WebElement> values = driver.findElements(By.cssSelector("#values-gallery .esd"));
        assertEquals(tensors.size(), values.size(), "one value histogram per tensor");
        for (WebElement c : values) js.executeScript("arguments[0].scrollIntoView()", c);
        js.executeScript("window.scrollTo(0, 0)");
        assertEquals((long) tensors.size(), ((Number) js.executeScript("return document.querySelectorAll('#values-gallery .esd[data-rendered=true] canvas').length")).longValue());
        JsonNode hists = JSON.readTree(stats.resolve(StatsJob.HISTOGRAMS).toFile());
        for (JsonNode h : hists.get("tensors")) {
            long n = 0;
            for (JsonNode c : h.get("counts")) n += c.asLong();
            int i = 0;
            while (h.get("counts").get(i).asLong() == 0) i++;
            double width = h.get("edges").get(i + 1).asDouble() - h.get("edges").get(i).asDouble();
            double expected = h.get("counts").get(i).asDouble() / (n * width);
            Number shown = (Number) js.executeScript("var c = document.querySelector('#values-gallery .esd[data-tensor=\\'' + arguments[0] + '\\'] .chart');"
                    + " return echarts.getInstanceByDom(c).getOption().series[0].data[0][1]", h.get("tensor").asText());
            assertEquals(expected, shown.doubleValue(), 1e-5 * expected, h.get("tensor").asText() + ": density of the first non-empty bin");
        }
        driver.findElement(By.id("values-filter")).sendKeys("LayerNorm");
        long norms = tensors.stream().filter(t -> t.get("name").asText().contains("LayerNorm")).count();
        assertEquals(norms, ((Number) js.executeScript("return Array.from(document.querySelectorAll('#values-gallery .esd')).filter(c => c.style.display !== 'none').length")).longValue());
        assertTrue(norms > 0);
        WebElement kurt = driver.findElement(By.cssSelector("#tensors th[data-key=kurtosis]"));
        kurt.click();
        assertEquals("descending", kurt.getAttribute("aria-sort"));
        String top = firstTensor();
        JsonNode maxKurt = tensors.stream().filter(t -> t.get("kurtosis_excess").isNumber()).max(Comparator.comparingDouble(t -> t.get("kurtosis_excess").asDouble())).orElseThrow();
        assertEquals(maxKurt.get("name").asText(), top, "largest kurtosis first");
        kurt.click();
        assertEquals("ascending", kurt.getAttribute("aria-sort"));
        JsonNode minKurt = tensors.stream().filter(t -> t.get("kurtosis_excess").isNumber()).min(Comparator.comparingDouble(t -> t.get("kurtosis_excess").asDouble())).orElseThrow();
        assertEquals(minKurt.get("name").asText(), firstTensor(), "smallest kurtosis first");
        List<Double> shown = columnValues(js, "#tensor-table", "kurtosis");
        for (int i = 1; i < shown.size(); i++) assertTrue(shown.get(i - 1) <= shown.get(i), "ascending at row " + i + ": " + shown);
        driver.findElement(By.cssSelector("#tensors input.filter")).sendKeys("attention\\.self\\.query");
        long expected = tensors.stream().filter(t -> Pattern.compile("attention\\.self\\.query", Pattern.CASE_INSENSITIVE).matcher(t.get("name").asText()).find()).count();
        assertEquals(expected, ((Number) js.executeScript("return document.querySelectorAll('#tensor-table tbody tr').length")).longValue());
        assertTrue(expected > 0);
        driver.findElement(By.cssSelector("#tensors input.filter")).sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.BACK_SPACE);
        assertEquals((long) tensors.size(), ((Number) js.executeScript("return document.querySelectorAll('#tensor-table tbody tr').length")).longValue());
        // the table stays inside the page: no horizontal scroll of the page itself
        assertTrue((Boolean) js.executeScript("return document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page does not overflow sideways");
        // norm vectors are not flagged as heavy-tailed by the matrix rule
        for (WebElement tr : driver.findElements(By.cssSelector("#anomaly-table tr.bad"))) {
            assertFalse(tr.getText().contains("LayerNorm"), "a norm vector flagged: " + tr.getText());
        }
        screenshot("stats");
    }

    @Test
    void spectrumPageHasOneEsdPerAnalysedMatrix() throws IOException {
        analyses();
        // spectrum: alpha by layer with its band, one ESD per analysed matrix (lazily drawn), the skipped with reasons
        JavascriptExecutor js = open(spectrum.resolve("report.html"));
        assertCharts(js, "#spectrum-charts canvas", 3);
        List<WebElement> cards = driver.findElements(By.cssSelector("#esd-gallery .esd"));
        assertEquals(analysed, cards.size(), "one ESD per analysed matrix");
        for (WebElement c : cards) js.executeScript("arguments[0].scrollIntoView()", c);
        js.executeScript("window.scrollTo(0, 0)");
        long rendered = ((Number) js.executeScript("return document.querySelectorAll('#esd-gallery .esd[data-rendered=true] canvas').length")).longValue();
        assertEquals(analysed, rendered, "every ESD drawn once scrolled into view");
        assertCharts(js, "#esd-gallery canvas", analysed);
        // the dashed power law starts at x_min with the density (t/n)(α − 1) ln 10 of log10 λ (docs/algorithms.md §31)
        JsonNode svs = JSON.readTree(spectrum.resolve("singular_values.json").toFile());
        int fits = 0;
        for (JsonNode m : specJson.get("matrices")) {
            if (!m.get("status").asText().equals("ok") || !m.path("alpha").isNumber()) continue;
            double alpha = m.get("alpha").asDouble(), xmin = m.get("xmin").asDouble();
            long t = 0, n = 0;
            for (JsonNode sv : svs.get(m.get("name").asText())) {
                double ev = sv.asDouble() * sv.asDouble();
                if (ev > 0) n++;
                if (ev >= xmin) t++;
            }
            Number y0 = (Number) js.executeScript("var c = document.querySelector('#esd-gallery .esd[data-matrix=\\'' + arguments[0] + '\\'] .chart');"
                    + " return echarts.getInstanceByDom(c).getOption().series[1].data[0][1]", m.get("name").asText());
            double expected = (double) t / n * (alpha - 1) * Math.log(10);
            assertEquals(expected, y0.doubleValue(), 1e-5 * expected, m.get("name").asText() + ": power-law density at x_min");
            fits++;
        }
        assertEquals(analysed, fits, "every analysed matrix has its fitted power law");
        assertEquals(skipped, driver.findElements(By.cssSelector("#not-analysed tr")).size() - (skipped > 0 ? 1 : 0), "every matrix not analysed is listed");
        screenshot("spectrum");
    }

    @Test
    void combinedPage() throws IOException {
        analyses();
        JavascriptExecutor js = open(both.resolve("report.html"));
        assertCharts(js, "#heatmap canvas, #layer-lines canvas, #spectrum-charts canvas", 9);
        assertEquals(analysed, driver.findElements(By.cssSelector("#esd-gallery .esd")).size());
    }

    @Test
    @SuppressWarnings("unchecked")
    void beforeAfterPageJoinsTwoRunsByName() throws IOException {
        analyses();
        // before/after: a second stats run whose query weights have twice the std (written from the first: the
        // report reads only stats.json), joined by name; the largest log2 ratio is 1, on exactly those tensors
        Path after = tmp.resolve("stats-after");
        Files.createDirectories(after);
        Map<String, Object> doc = JSON.readValue(stats.resolve("stats.json").toFile(), Map.class);
        int doubled = 0;
        for (Map<String, Object> row : (List<Map<String, Object>>) doc.get("rows")) {
            if (row.get("level").equals("tensor") && String.valueOf(row.get("name")).contains("attention.self.query.weight")) {
                row.put("std", ((Number) row.get("std")).doubleValue() * 2);
                doubled++;
            }
        }
        JSON.writeValue(after.resolve("stats.json").toFile(), doc);
        Files.createFile(after.resolve("_SUCCESS"));
        Path ba = tmp.resolve("ba");
        Cli.Run r = Cli.run("report", "--stats", stats.toString(), "--stats", after.toString(), "--spectrum", spectrum.toString(), "--spectrum", spectrum.toString(),
                "--label", "base", "--label", "tvr", "--out", ba.toString());
        assertEquals(0, r.exit(), r.err());
        JavascriptExecutor js = open(ba.resolve("report.html"));
        assertCharts(js, "#ba-heatmap canvas, #ba-lines canvas, #ba-spectrum canvas", 5);
        WebElement ratio = driver.findElement(By.cssSelector("#ba-table th[data-key=std_log2_ratio]"));
        ratio.click();
        List<String> top = (List<String>) js.executeScript("var i = Array.from(document.querySelectorAll('#ba-table thead th')).map(function (t) {"
                + " return t.getAttribute('data-key'); }).indexOf('std_log2_ratio'); return Array.from(document.querySelectorAll('#ba-table tbody tr'))"
                + ".map(function (r) { return r.children[0].title + '=' + r.children[i].textContent; })");
        assertEquals(tensors.size(), top.size(), "every tensor joined");
        for (int i = 0; i < top.size(); i++) {
            assertEquals(i < doubled, top.get(i).contains("attention.self.query.weight=1"), "row " + i + ": " + top.get(i));
        }
        screenshot("before-after");
    }

    @Test
    @SuppressWarnings("unchecked")
    void compareReportNumericStepsForASeriesCategoriesOtherwise() throws IOException {
        Path fixture = Fixtures.dir("all-minilm-l6-v2");
        Path v = tmp.resolve("variants"), series = tmp.resolve("series");
        Python.script(Python.testScript("compare_check.py"), "make", fixture.toString(), v.toString()); // numpy variants, no Spark
        Files.createDirectories(series);
        Files.move(v.resolve("planted"), series.resolve("checkpoint-100"));
        Files.move(v.resolve("noisy"), series.resolve("checkpoint-300"));
        Path cmp = tmp.resolve("cmp");
        Cli.Run r = Cli.run("compare", fixture.toString(), series.resolve("checkpoint-100").toString(), series.resolve("checkpoint-300").toString(), "--out", cmp.toString());
        assertEquals(0, r.exit(), r.err());
        JavascriptExecutor js = open(cmp.resolve("report.html"));
        assertCharts(js, "#compare-layers canvas, #compare-heatmap canvas, #compare-series canvas", 5);
        assertEquals("value", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().xAxis[0].type"), "a series of steps");
        assertEquals("line", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().series[0].type"));
        assertEquals(List.of(100L, 300L), js.executeScript("return JSON.parse(document.getElementById('report-data').textContent).compare.steps"));
        screenshot("compare");

        // `report --compare` draws the same page from the compare run's outputs
        Cli.Run again = Cli.run("report", "--compare", cmp.toString(), "--out", tmp.resolve("cmp-report").toString());
        assertEquals(0, again.exit(), again.err());
        js = open(tmp.resolve("cmp-report").resolve("report.html"));
        assertCharts(js, "#compare-layers canvas, #compare-heatmap canvas, #compare-series canvas", 5);

        // the same results for two unrelated checkpoints: categories, points and no connecting line
        Map<String, Object> doc = JSON.readValue(cmp.resolve("compare.json").toFile(), Map.class);
        Map<String, Object> run = (Map<String, Object>) doc.get("run");
        run.put("checkpoints", List.of("/models/base", "/models/tvr"));
        Path unrelated = tmp.resolve("unrelated.html");
        Files.writeString(unrelated, CompareReport.render(run, (List<Map<String, Object>>) doc.get("layers"),
                (List<Map<String, Object>>) doc.get("tensors"), (List<Map<String, Object>>) doc.get("not_compared")));
        js = open(unrelated);
        assertCharts(js, "#compare-series canvas", 2);
        assertEquals("category", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().xAxis[0].type"), "unrelated checkpoints");
        assertEquals("scatter", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().series[0].type"), "points, no lines");

        // rotations of near-equal size (0.0012480 ... 0.0012500, as two fine-tunes of one base give): every tick label distinct
        List<Map<String, Object>> layers = (List<Map<String, Object>>) doc.get("layers");
        for (int i = 0; i < layers.size(); i++) layers.get(i).put("rotation", 0.00125 - 2e-6 * i / layers.size());
        Path narrow = tmp.resolve("narrow.html");
        Files.writeString(narrow, CompareReport.render(run, layers, (List<Map<String, Object>>) doc.get("tensors"), (List<Map<String, Object>>) doc.get("not_compared")));
        js = open(narrow);
        List<String> labels = (List<String>) js.executeScript("var c = window.weightlabCharts.filter(function (c) { return c.getDom().closest('#compare-layers'); })[0];"
                + " var ax = c.getModel().getComponent('yAxis', 0).axis, fm = c.getOption().yAxis[0].axisLabel.formatter;"
                + " return ax.scale.getTicks().map(function (t) { return fm(t.value); });");
        assertTrue(labels.size() >= 3, labels.toString());
        assertEquals(labels.size(), new java.util.HashSet<>(labels).size(), "distinct tick labels on a narrow axis: " + labels);
        List<String> ends = (List<String>) js.executeScript("var c = window.weightlabCharts.filter(function (c) { return c.getDom().closest('#compare-heatmap'); })[0];"
                + " var v = c.getOption().visualMap[0]; return [v.formatter(v.min), v.formatter(v.max)];");
        assertTrue(!ends.get(0).equals(ends.get(1)), "the heatmap's colour scale ends read differently: " + ends);
    }

    @Test
    @SuppressWarnings("unchecked")
    void fedRoundPageShowsEveryClientWithItsStatusAndThePrivacySpent() throws IOException {
        // four MiniLM clients, one with a NaN (dropped), a DP round (ε chart) and a multi-krum round (one not selected)
        Path clients = io.weightlab.jobs.federated.FedAvgJobTest.clients(tmp.resolve("clients"), 4, "--nan", "c3");
        Path dp = tmp.resolve("fed-dp"), krum = tmp.resolve("fed-krum");
        Cli.Run r = Cli.run("fedavg", "--manifest", clients.resolve("manifest.json").toString(), "--out", dp.toString(), "--bad-clients", "drop",
                "--weighting", "uniform", "--clip", "5", "--dp", "gaussian", "--noise-multiplier", "1", "--seed", "3");
        assertEquals(0, r.exit(), r.err());
        JavascriptExecutor js = open(dp.resolve("report.html"));
        assertCharts(js, "#fed-clients canvas, #fed-tensors canvas, #fed-privacy canvas", 3);
        Map<String, Object> report = JSON.readValue(dp.resolve("round_report.json").toFile(), Map.class);
        List<Map<String, Object>> rows = (List<Map<String, Object>>) report.get("clients");
        assertEquals(4, rows.size());
        assertEquals(4L, ((Number) js.executeScript("return document.querySelectorAll('#fed-client-table tbody tr').length")).longValue(), "one row per client");
        assertEquals(1L, ((Number) js.executeScript("return document.querySelectorAll('#fed-client-table tbody tr.bad').length")).longValue(), "the NaN client is marked");
        assertTrue(driver.findElement(By.cssSelector("#fed-client-table tbody tr.bad")).getText().contains("c3"));
        // the bars carry the status colours of the report's data: three aggregated, one dropped
        List<String> colours = (List<String>) js.executeScript("return window.weightlabCharts.filter(function (c) { return c.getDom().closest('#fed-clients'); })[0]"
                + ".getOption().series[0].data.map(function (d) { return d.itemStyle.color; })");
        assertEquals(4, colours.size());
        assertEquals(1, colours.stream().filter("#e15759"::equals).count(), "one red (dropped) bar: " + colours);
        // ε on the page is the ledger's
        Map<String, Object> ledger = JSON.readValue(dp.resolve("server_state/privacy.json").toFile(), Map.class);
        Number eps = (Number) js.executeScript("return window.weightlabCharts.filter(function (c) { return c.getDom().closest('#fed-privacy'); })[0]"
                + ".getOption().series[0].data[0]");
        assertEquals(((Number) ledger.get("epsilon")).doubleValue(), eps.doubleValue(), 0.0);
        screenshot("fedavg");

        r = Cli.run("fedavg", "--manifest", clients.resolve("manifest.json").toString(), "--out", krum.toString(), "--bad-clients", "drop",
                "--method", "multi-krum:num_clients_to_keep=2");
        assertEquals(0, r.exit(), r.err());
        Cli.Run page = Cli.run("report", "--fedavg", krum.toString(), "--out", tmp.resolve("fed-report").toString());
        assertEquals(0, page.exit(), page.err());
        js = open(tmp.resolve("fed-report").resolve("report.html"));
        assertCharts(js, "#fed-clients canvas, #fed-tensors canvas", 2);
        String text = driver.findElement(By.cssSelector("#fed-client-table")).getText();
        assertTrue(text.contains("not_selected") && text.contains("dropped"), text);
    }

    /**
     * `report --fleet` on a fleet dataset of fleet_series.py's three checkpoints (steps 100, 200, 300): trends on a
     * numeric step axis with lines, the layer x checkpoint heatmap, one table row per checkpoint. Oracle: every weight
     * of layer l at step s is its initial value times (1 + DRIFT[l]·s/1000), so the layer roll-up's std on the page at
     * step s over step 100 is that factor's ratio (stored F32/F16 values: within 2e-3 relative), and layer 0's is 1.
     */
    @Test
    @SuppressWarnings("unchecked")
    void fleetPageDrawsTrendsOverStepsAndEveryCheckpoint() throws IOException {
        Path runs = tmp.resolve("fleet-runs"), ds = tmp.resolve("fleet-ds"), page = tmp.resolve("fleet-report");
        FleetStatsJobTest.series(runs, 1, 3);
        Cli.Run st = Cli.run("stats", "--fleet", runs + "/checkpoint-*", "--out", ds.toString(), "--master", "local[2]", "--gg-fit", "moments");
        assertEquals(0, st.exit(), st.err());
        Cli.Run r = Cli.run("report", "--fleet", ds.toString(), "--out", page.toString());
        assertEquals(0, r.exit(), r.err());
        JavascriptExecutor js = open(page.resolve("report.html"));
        assertCharts(js, "#fleet-trends canvas, #fleet-heatmap canvas", 4);
        assertEquals(3L, ((Number) js.executeScript("return document.querySelectorAll('#fleet-table tbody tr').length")).longValue(), "one row per checkpoint");
        assertEquals("value", js.executeScript("return window.weightlabCharts.filter(function (c) { return c.getDom().closest('#fleet-trends'); })[0]"
                + ".getOption().xAxis[0].type"), "a series of steps: a numeric axis");
        assertEquals("line", js.executeScript("return window.weightlabCharts.filter(function (c) { return c.getDom().closest('#fleet-trends'); })[0]"
                + ".getOption().series[0].type"));
        Map<String, Object> fleet = (Map<String, Object>) JSON.readValue((String) js.executeScript("return document.getElementById('report-data').textContent"), Map.class).get("fleet");
        List<Map<String, Object>> layers = (List<Map<String, Object>>) fleet.get("layers");
        double[] drift = {0.0, 0.1, 0.2, 0.4};
        for (int l = 0; l < drift.length; l++) {
            Map<Long, Double> byStep = new java.util.TreeMap<>();
            for (Map<String, Object> row : layers) {
                if (String.valueOf(row.get("name")).endsWith("layers." + l)) byStep.put(((Number) row.get("step")).longValue(), ((Number) row.get("std")).doubleValue());
            }
            assertEquals(List.of(100L, 200L, 300L), new ArrayList<>(byStep.keySet()), "layer " + l + " at every step");
            for (long s : List.of(200L, 300L)) {
                double want = (1 + drift[l] * s / 1000.0) / (1 + drift[l] * 0.1);
                assertEquals(want, byStep.get(s) / byStep.get(100L), 2e-3 * want, "layer " + l + " std at step " + s + " over step 100");
            }
        }
        // the largest-drift table: 3 drifting layers x steps 200, 300 against step 100, largest first, layer 0 (no drift) last
        List<Map<String, Object>> drifts = (List<Map<String, Object>>) fleet.get("drift");
        assertEquals(8, drifts.size(), "4 layers x the 2 checkpoints after the first");
        for (int i = 0; i < drifts.size(); i++) {
            Map<String, Object> d = drifts.get(i);
            int l = Integer.parseInt(String.valueOf(d.get("layer")).replaceAll(".*layers\\.", ""));
            long s = ((Number) d.get("step")).longValue();
            double want = (1 + drift[l] * s / 1000.0) / (1 + drift[l] * 0.1) - 1;
            assertEquals(want, ((Number) d.get("std_drift")).doubleValue(), 2e-3 * (1 + want), "layer " + l + " at step " + s);
            if (i > 0) assertTrue(Math.abs(((Number) drifts.get(i - 1).get("std_drift")).doubleValue()) >= Math.abs(((Number) d.get("std_drift")).doubleValue()), "largest first");
        }
        assertTrue(String.valueOf(drifts.get(0).get("layer")).endsWith("layers.3") && ((Number) drifts.get(0).get("step")).longValue() == 300, "the largest: layer 3 at step 300");
        List<org.openqa.selenium.WebElement> cells = driver.findElements(By.cssSelector("#fleet-drift tbody tr:first-child td"));
        assertEquals(6, cells.size());
        assertEquals(String.format(java.util.Locale.ROOT, "%+.2f%%", 100 * ((Number) drifts.get(0).get("std_drift")).doubleValue()), cells.get(5).getText(),
                "the page shows the top row's drift");
        screenshot("fleet");
        Cli.Run none = Cli.run("report", "--fleet", runs.toString(), "--out", tmp.resolve("fleet-none").toString());
        assertTrue(none.exit() != 0 && none.err().contains("not a fleet dataset"), none.err());
        assertFalse(Files.exists(tmp.resolve("fleet-none")));
    }

    /**
     * `report --fleet` with the stats, spectrum and compare datasets of fleet_series.py's checkpoints 100, 200, 300 and
     * a second stats run that skipped a corrupt checkpoint. Oracles, independent of the report code
     * (fleet_report_check.py): the spectrum dataset read with pyarrow (matrices analysed, numpy's median α, the
     * matrices whose α left [2, 6]), each layer's rel_delta and rotation against step 100 from the safetensors files in
     * numpy float64, all within 1e-5 relative (the page carries six significant digits), the run records read back (the skipped checkpoint and its error type).
     * A row of the checkpoints table and of the largest-change table opens that checkpoint's details.
     */
    @Test
    @SuppressWarnings("unchecked")
    void fleetPageJoinsStatsSpectrumAndCompareAndListsEveryRun() throws IOException {
        Python.require("numpy", "safetensors", "pyarrow");
        Path runs = tmp.resolve("fleet3-runs"), stats = tmp.resolve("fleet3-stats"), spectrum = tmp.resolve("fleet3-spectrum"),
                compare = tmp.resolve("fleet3-compare"), page = tmp.resolve("fleet3-report");
        FleetStatsJobTest.series(runs, 1, 3);
        String glob = runs + "/checkpoint-*";
        Cli.Run r = Cli.run("stats", "--fleet", glob, "--out", stats.toString(), "--master", "local[2]", "--gg-fit", "moments");
        assertEquals(0, r.exit(), r.err());
        r = Cli.run("spectrum", "--fleet", glob, "--out", spectrum.toString(), "--master", "local[2]", "--method", "exact");
        assertEquals(0, r.exit(), r.err());
        r = Cli.run("compare", "--against", "first", glob, "--out", compare.toString(), "--master", "local[2]");
        assertEquals(0, r.exit(), r.err());
        Path bad = runs.resolve("checkpoint-400/model.safetensors");
        Files.createDirectories(bad.getParent());
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, '{', '}'});
        r = Cli.run("stats", "--fleet", glob, "--out", stats.toString(), "--master", "local[2]", "--gg-fit", "moments", "--append", "--bad-checkpoints", "skip");
        assertEquals(0, r.exit(), r.err());

        Cli.Run twice = Cli.run("report", "--fleet", stats.toString(), "--fleet", stats.toString(), "--out", tmp.resolve("fleet3-twice").toString());
        assertTrue(twice.exit() == 2 && twice.err().contains("both stats datasets"), twice.err());
        assertFalse(Files.exists(tmp.resolve("fleet3-twice")));
        r = Cli.run("report", "--fleet", stats.toString(), "--fleet", spectrum.toString(), "--fleet", compare.toString(), "--out", page.toString());
        assertEquals(0, r.exit(), r.err());
        JavascriptExecutor js = open(page.resolve("report.html"));
        assertCharts(js, "#fleet-trends canvas, #fleet-heatmap canvas", 4);
        assertCharts(js, "#fleet-alpha canvas", 1);
        assertCharts(js, "#fleet-change canvas", 1);
        Map<String, Object> fleet = (Map<String, Object>) JSON.readValue((String) js.executeScript("return document.getElementById('report-data').textContent"), Map.class).get("fleet");
        Map<String, Object> want = JSON.readValue(Python.script(Python.testScript("fleet_report_check.py"), spectrum.toString(), runs.toString(), "100", "200", "300"), Map.class);
        Map<String, Map<String, Object>> wantSpectrum = (Map<String, Map<String, Object>>) want.get("spectrum");
        Map<String, Map<String, List<Double>>> wantChanges = (Map<String, Map<String, List<Double>>>) want.get("changes");

        // every checkpoint once, with its spectrum numbers as pyarrow + numpy read them
        List<Map<String, Object>> cks = (List<Map<String, Object>>) fleet.get("checkpoints");
        assertEquals(3, cks.size(), "the corrupt checkpoint-400 has no rows");
        java.util.Set<List<String>> outside = new java.util.TreeSet<>(Comparator.comparing((List<String> l) -> l.get(0)).thenComparing(l -> l.get(1)));
        Map<Long, String> uriOfStep = new java.util.TreeMap<>();
        for (Map<String, Object> c : cks) {
            String uri = (String) c.get("uri");
            uriOfStep.put(((Number) c.get("step")).longValue(), uri);
            Map<String, Object> w = wantSpectrum.get(uri);
            assertEquals(((Number) w.get("ok")).longValue(), ((Number) c.get("matrices")).longValue(), uri + " matrices analysed");
            assertEquals(((Number) w.get("alpha_median")).doubleValue(), ((Number) c.get("alpha_median")).doubleValue(), 1e-5 * ((Number) w.get("alpha_median")).doubleValue(), uri + " median alpha");
            List<String> names = (List<String>) w.get("outside");
            assertEquals(names.size(), ((Number) c.get("alpha_out")).longValue(), uri + " alphas outside [2, 6]");
            for (String n : names) outside.add(List.of(uri, n));
        }
        if (outside.isEmpty()) assertEquals(1L, ((Number) js.executeScript("return document.querySelectorAll('#fleet-alpha-none').length")).longValue());
        else {
            List<List<String>> shown = (List<List<String>>) js.executeScript("return Array.from(document.querySelectorAll('#fleet-alpha-out tbody tr'))"
                    + ".map(function (tr) { return [tr.getAttribute('data-uri'), tr.children[2].textContent]; })");
            assertEquals(new ArrayList<>(outside), shown.stream().sorted(Comparator.comparing((List<String> l) -> l.get(0)).thenComparing(l -> l.get(1))).toList(),
                    "the table lists exactly the matrices whose alpha left [2, 6]");
        }

        // rel_delta and rotation of every layer of steps 200 and 300 against step 100, as numpy computes them
        List<Map<String, Object>> changes = (List<Map<String, Object>>) fleet.get("changes");
        assertEquals(2 * wantChanges.get("200").size(), changes.size(), "every layer of the two compared checkpoints");
        for (Map<String, Object> c : changes) {
            String layer = c.get("layer_index") == null ? "none" : String.valueOf(((Number) c.get("layer_index")).longValue());
            List<Double> w = wantChanges.get(String.valueOf(((Number) c.get("step")).longValue())).get(layer);
            assertEquals(w.get(0), ((Number) c.get("rel_delta")).doubleValue(), 1e-5 * w.get(0) + 1e-15, c + " rel_delta");
            assertEquals(w.get(1), ((Number) c.get("rotation")).doubleValue(), 1e-5 * Math.abs(w.get(1)) + 1e-12, c + " rotation");
        }
        List<String> top = (List<String>) js.executeScript("var tr = document.querySelector('#fleet-largest-change tbody tr');"
                + " return [tr.getAttribute('data-uri'), tr.children[2].textContent]");
        assertEquals(uriOfStep.get(300L), top.get(0), "the largest change: step 300");
        assertTrue(top.get(1).endsWith("layers.3"), "the largest change: layer 3 (drift 0.4), not " + top.get(1));

        // the runs: two of stats (the second skipped the corrupt checkpoint and wrote nothing), one each of spectrum, compare
        assertEquals(4L, ((Number) js.executeScript("return document.querySelectorAll('#fleet-runs tbody tr').length")).longValue());
        List<JsonNode> records = new ArrayList<>();
        try (var files = Files.list(stats.resolve("_fleet/runs"))) {
            for (Path f : files.sorted().toList()) records.add(JSON.readTree(f.toFile()));
        }
        JsonNode skipped = records.get(1).get("bad_checkpoints").get(0);
        String badRow = (String) js.executeScript("return document.querySelector('#fleet-runs tbody tr.bad').textContent");
        assertTrue(badRow.contains(skipped.get("uri").asText()) && badRow.contains(skipped.get("type").asText())
                && badRow.startsWith("stats" + records.get(1).get("run_id").asText()), badRow);

        // a checkpoint's row opens its details: every matrix and compared layer of it, its file in each dataset
        WebElement row = driver.findElements(By.cssSelector("#fleet-table tbody tr")).stream().filter(e -> e.getText().contains("checkpoint-200")).findFirst().orElseThrow();
        row.click();
        assertEquals(uriOfStep.get(200L), js.executeScript("return document.getElementById('fleet-detail').getAttribute('data-uri')"));
        assertEquals(((Number) wantSpectrum.get(uriOfStep.get(200L)).get("matrices")).longValue(),
                ((Number) js.executeScript("return document.querySelectorAll('#fleet-detail-matrices tbody tr').length")).longValue(), "its matrices");
        assertEquals((long) wantChanges.get("200").size(),
                ((Number) js.executeScript("return document.querySelectorAll('#fleet-detail-changes tbody tr').length")).longValue(), "its compared layers");
        assertEquals(4L, ((Number) js.executeScript("return document.querySelectorAll('#fleet-detail-layers tbody tr').length")).longValue(), "its 4 layers");
        assertEquals(3L, ((Number) js.executeScript("return document.querySelectorAll('#fleet-detail .facts a').length")).longValue(), "a link to its file in each dataset");
        screenshot("fleet-joined");
        driver.findElement(By.cssSelector("#fleet-largest-change tbody tr")).click();
        assertEquals(uriOfStep.get(300L), js.executeScript("return document.getElementById('fleet-detail').getAttribute('data-uri')"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void mergePageDrawsEachModelByLayerAndListsEveryTensor() throws IOException {
        // one ties merge of three "fine-tunes" of a tiny random Llama (merge_check.py make, as MergeJobTest): every tensor has norms and kept fractions
        Python.require("numpy", "torch", "safetensors", "transformers");
        Path models = tmp.resolve("merge-models"), merged = tmp.resolve("merged");
        Python.script(Python.testScript("merge_check.py"), "make", models.toString(), "3");
        Path recipe = tmp.resolve("ties.yaml");
        Files.writeString(recipe, """
                merge_method: ties
                base_model: BASE
                models:
                  - model: FT0
                    parameters: {weight: 1, density: 0.5}
                  - model: FT1
                    parameters: {weight: 0.7, density: 0.3}
                  - model: FT2
                    parameters: {weight: 0.5, density: 0.7}
                parameters:
                  normalize: true
                """.replace("BASE", models.resolve("base").toString()).replace("FT0", models.resolve("ft0").toString())
                .replace("FT1", models.resolve("ft1").toString()).replace("FT2", models.resolve("ft2").toString()));
        Cli.Run r = Cli.run("merge", "--config", recipe.toString(), "--out", merged.toString());
        assertEquals(0, r.exit(), r.err());
        List<Map<String, Object>> rows = (List<Map<String, Object>>) JSON.readValue(merged.resolve("weightlab_provenance.json").toFile(), Map.class).get("tensors");

        JavascriptExecutor js = open(merged.resolve("report.html"));
        assertCharts(js, "#merge-layers canvas", 2); // task-vector norm and kept fraction by layer
        assertEquals((long) rows.size(), ((Number) js.executeScript("return document.querySelectorAll('#merge-table tbody tr').length")).longValue(), "one row per merged tensor");
        assertTrue(driver.findElement(By.id("merge-models")).getText().contains("0.3"), "ft1's density as resolved");
        // model 1's norm of layer 0 is √(Σ ‖τ‖²) over that layer's tensors (docs/algorithms.md §31); the page rounds to 6 digits
        double sq = 0;
        for (Map<String, Object> t : rows) {
            if (String.valueOf(t.get("name")).startsWith("model.layers.0.")) sq += Math.pow(((Number) ((List<Object>) t.get("task_vector_norms")).get(0)).doubleValue(), 2);
        }
        assertTrue(sq > 0);
        Map<String, Object> first = (Map<String, Object>) js.executeScript("var s = window.weightlabCharts.filter(function (c) { return c.getDom().closest('#merge-layers'); })[0]"
                + ".getOption().series[0]; return {name: s.name, raw: s.data.filter(function (d) { return d.value[0] === 0; })[0].raw}");
        assertEquals("ft0", first.get("name"));
        assertEquals(Math.sqrt(sq), ((Number) first.get("raw")).doubleValue(), 1e-5 * Math.sqrt(sq), "ft0's task-vector norm of layer 0");
        // sorting by ft0's norm puts the provenance's largest first, and the column descends
        WebElement norm = driver.findElement(By.cssSelector("#merge-table th[data-key=norm_1]"));
        norm.click();
        assertEquals("descending", norm.getAttribute("aria-sort"));
        Map<String, Object> largest = rows.stream().max(Comparator.comparingDouble(t -> ((Number) ((List<Object>) t.get("task_vector_norms")).get(0)).doubleValue())).orElseThrow();
        assertEquals(largest.get("name"), driver.findElement(By.cssSelector("#merge-table tbody tr td")).getAttribute("title"));
        List<Double> shown = columnValues(js, "#merge-table", "norm_1");
        assertEquals(rows.size(), shown.size());
        for (int i = 1; i < shown.size(); i++) assertTrue(shown.get(i - 1) >= shown.get(i), "descending at row " + i + ": " + shown);
        assertTrue((Boolean) js.executeScript("return document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page does not overflow sideways");
        screenshot("merge");
        driver.findElement(By.cssSelector("#merge input.filter")).sendKeys("mlp");
        assertEquals(rows.stream().filter(t -> String.valueOf(t.get("name")).contains("mlp")).count(),
                ((Number) js.executeScript("return document.querySelectorAll('#merge-table tbody tr').length")).longValue(), "filtered to the MLP tensors");

        // `report --merge` draws the same page from the provenance alone
        Cli.Run page = Cli.run("report", "--merge", merged.toString(), "--out", tmp.resolve("merge-report").toString());
        assertEquals(0, page.exit(), page.err());
        js = open(tmp.resolve("merge-report").resolve("report.html"));
        assertCharts(js, "#merge-layers canvas", 2);
        assertEquals((long) rows.size(), ((Number) js.executeScript("return document.querySelectorAll('#merge-table tbody tr').length")).longValue());
    }

    String firstTensor() {
        return driver.findElement(By.cssSelector("#tensor-table tbody tr td")).getAttribute("title");
    }

    /** lr-scales' page against its own lr_scales.json: every block in the table, each layer's point at its scale. */
    @Test
    @SuppressWarnings("unchecked")
    void lrScalesPageDrawsEachBlockByLayer() throws IOException {
        Path model = tmp.resolve("lr-llama"), grads = tmp.resolve("lr-grads.safetensors"), out = tmp.resolve("lr-out");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", model.toString(), "--dtype", "F32").exit());
        Python.script(Python.testScript("lr_scales_check.py"), "make", model.toString(), grads.toString());
        Cli.Run r = Cli.run("lr-scales", model.toString(), "--gradients", grads.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode blocks = JSON.readTree(out.resolve("lr_scales.json").toFile()).get("blocks");
        Map<String, Double> scale = new java.util.HashMap<>();
        long layered = 0;
        for (JsonNode b : blocks) {
            scale.put(b.get("name").asText(), b.get("lr_scale").asDouble());
            if (b.get("name").asText().matches(".*\\.\\d+\\..*")) layered++;
        }
        JavascriptExecutor js = open(out.resolve("report.html"));
        assertCharts(js, "#lr-layers canvas", 2);
        assertEquals((long) blocks.size(), ((Number) js.executeScript("return document.querySelectorAll('#lr-table tbody tr').length")).longValue(),
                "one row per block");
        List<Double> shown = columnValues(js, "#lr-table", "lr_scale");
        List<Double> want = new ArrayList<>(scale.values());
        shown.sort(null);
        want.sort(null);
        for (int i = 0; i < want.size(); i++) assertEquals(want.get(i), shown.get(i), 5e-3 * want.get(i), "table shows 3-4 digits");
        // the first chart (scale by layer): one point per block of a layer, at the JSON's value to the page's six digits
        List<Map<String, Object>> points = (List<Map<String, Object>>) js.executeScript("var c = window.weightlabCharts.filter(function (c) {"
                + " return c.getDom().closest('#lr-layers'); })[0]; var out = []; c.getOption().series.forEach(function (s) {"
                + " s.data.forEach(function (d) { out.push({tensor: d.tensor, raw: d.raw}); }); }); return out;");
        assertEquals(layered, points.size(), "every block of a layer is a point");
        for (Map<String, Object> p : points) {
            double v = scale.get((String) p.get("tensor"));
            assertEquals(v, ((Number) p.get("raw")).doubleValue(), 1e-5 * v, p.toString());
        }
        screenshot("lr-scales");
    }

    /** merge --screen's page: every candidate a row of the table, in rank order, its score and (--spectra-alpha) α summary as in screen.json. */
    @Test
    void screenPageListsEveryCandidateInRankOrder() throws IOException {
        Path base = tmp.resolve("screen-base"), ft = tmp.resolve("screen-ft"), grid = tmp.resolve("screen.yaml"), out = tmp.resolve("screen-out");
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", base.toString(), "--dtype", "F32", "--seed", "1").exit());
        assertEquals(0, Cli.run("synth", "--preset", "llama-tiny", "--out", ft.toString(), "--dtype", "F32", "--seed", "2").exit());
        Files.writeString(grid, "merge_method: ties\nbase_model: " + base + "\nmodels:\n  - model: " + ft + "\n    parameters: {weight: 1}\n"
                + "grid:\n  merge_method: [ties, task_arithmetic]\n  lambda: [0.5, 1.0]\n");
        Cli.Run r = Cli.run("merge", "--screen", grid.toString(), "--out", out.toString(), "--spectra-alpha");
        assertEquals(0, r.exit(), r.err());
        JsonNode cands = JSON.readTree(out.resolve("screen.json").toFile()).get("candidates");
        JavascriptExecutor js = open(out.resolve("report.html"));
        assertEquals((long) cands.size(), ((Number) js.executeScript("return document.querySelectorAll('#screen-table tbody tr').length")).longValue());
        List<Double> ranks = columnValues(js, "#screen-table", "rank");
        List<Double> scores = columnValues(js, "#screen-table", "score");
        for (int i = 0; i < cands.size(); i++) {
            assertEquals(i + 1, ranks.get(i), 0.0, "sorted by rank");
            double want = cands.get(i).get("score").asDouble();
            assertEquals(want, scores.get(i), 5e-3 * Math.abs(want), "table shows 3-4 digits");
        }
        // --spectra-alpha: the merged matrices' mean α and the count outside [2, 6], as in screen.json
        List<Double> alphas = columnValues(js, "#screen-table", "mean_alpha"), outside = columnValues(js, "#screen-table", "alpha_out_of_range");
        assertEquals(cands.size(), alphas.size());
        for (int i = 0; i < cands.size(); i++) {
            double want = cands.get(i).get("mean_alpha").asDouble();
            assertEquals(want, alphas.get(i), 5e-3 * want, "mean α");
            assertEquals(cands.get(i).get("alpha_out_of_range").asDouble(), outside.get(i), 0.0, "α outside [2, 6]");
        }
    }

    @SuppressWarnings("unchecked")
    static List<Double> columnValues(JavascriptExecutor js, String table, String key) {
        List<Object> v = (List<Object>) js.executeScript("var ths = Array.from(document.querySelectorAll(arguments[1] + ' thead th'));"
                + " var i = ths.map(function (t) { return t.getAttribute('data-key'); }).indexOf(arguments[0]);"
                + " return Array.from(document.querySelectorAll(arguments[1] + ' tbody tr')).map(function (r) { return r.children[i].textContent; })", key, table);
        List<Double> out = new ArrayList<>();
        for (Object o : v) if (!"–".equals(o)) out.add(Double.parseDouble(String.valueOf(o)));
        return out;
    }
}
