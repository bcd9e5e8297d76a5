package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.jobs.Cli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
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

    @Test
    void statsSpectrumAndCombinedReportsOnMiniLm() throws IOException {
        String in = Fixtures.dir("all-minilm-l6-v2").toString();
        Path stats = tmp.resolve("stats"), spectrum = tmp.resolve("spectrum"), both = tmp.resolve("both");
        assertEquals(0, Cli.run("stats", in, "--out", stats.toString()).exit());
        assertEquals(0, Cli.run("spectrum", in, "--out", spectrum.toString()).exit());
        Cli.Run r = Cli.run("report", "--stats", stats.toString(), "--spectrum", spectrum.toString(), "--out", both.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode statsJson = JSON.readTree(stats.resolve("stats.json").toFile()), specJson = JSON.readTree(spectrum.resolve("spectrum.json").toFile());
        List<JsonNode> tensors = new ArrayList<>();
        for (JsonNode row : statsJson.get("rows")) if (row.get("level").asText().equals("tensor")) tensors.add(row);
        int analysed = 0, skipped = 0;
        for (JsonNode m : specJson.get("matrices")) if (m.get("status").asText().equals("ok")) analysed++; else skipped++;

        for (Path page : List.of(stats.resolve("report.html"), spectrum.resolve("report.html"), both.resolve("report.html"))) {
            long bytes = Files.size(page);
            assertTrue(bytes < 2_500_000, page + " is " + bytes + " bytes");
            String html = Files.readString(page);
            assertEquals(2, html.split("Licensed to the Apache Software Foundation", -1).length, page + ": ECharts inlined once");
            assertEquals(-1, html.indexOf("src=\"http"), "no external script");
        }

        // stats: heatmap, lines by layer, histogram; the tensor table sorts and filters
        JavascriptExecutor js = open(stats.resolve("report.html"));
        assertCharts(js, "#heatmap canvas", 1);
        assertCharts(js, "#layer-lines canvas", 5);
        assertCharts(js, "#histogram canvas", 1);
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
        List<Double> shown = columnValues(js, "kurtosis");
        for (int i = 1; i < shown.size(); i++) assertTrue(shown.get(i - 1) <= shown.get(i), "ascending at row " + i + ": " + shown);
        driver.findElement(By.cssSelector("#tensors input.filter")).sendKeys("attention\\.self\\.query");
        long expected = tensors.stream().filter(t -> Pattern.compile("attention\\.self\\.query", Pattern.CASE_INSENSITIVE).matcher(t.get("name").asText()).find()).count();
        assertEquals(expected, ((Number) js.executeScript("return document.querySelectorAll('#tensor-table tbody tr').length")).longValue());
        assertTrue(expected > 0);
        driver.findElement(By.cssSelector("#tensors input.filter")).clear();
        // the table stays inside the page: no horizontal scroll of the page itself
        assertTrue((Boolean) js.executeScript("return document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page does not overflow sideways");
        // norm vectors are not flagged as heavy-tailed by the matrix rule
        for (WebElement tr : driver.findElements(By.cssSelector("#anomaly-table tr.bad"))) {
            assertFalse(tr.getText().contains("LayerNorm"), "a norm vector flagged: " + tr.getText());
        }
        screenshot("stats");

        // spectrum: alpha by layer with its band, one ESD per analysed matrix (lazily drawn), the skipped with reasons
        js = open(spectrum.resolve("report.html"));
        assertCharts(js, "#spectrum-charts canvas", 3);
        List<WebElement> cards = driver.findElements(By.cssSelector("#esd-gallery .esd"));
        assertEquals(analysed, cards.size(), "one ESD per analysed matrix");
        for (WebElement c : cards) js.executeScript("arguments[0].scrollIntoView()", c);
        js.executeScript("window.scrollTo(0, 0)");
        long rendered = ((Number) js.executeScript("return document.querySelectorAll('#esd-gallery .esd[data-rendered=true] canvas').length")).longValue();
        assertEquals(analysed, rendered, "every ESD drawn once scrolled into view");
        assertCharts(js, "#esd-gallery canvas", analysed);
        assertEquals(skipped, driver.findElements(By.cssSelector("#not-analysed tr")).size() - (skipped > 0 ? 1 : 0), "every matrix not analysed is listed");
        screenshot("spectrum");

        js = open(both.resolve("report.html"));
        assertCharts(js, "#heatmap canvas, #layer-lines canvas, #spectrum-charts canvas", 9);
        assertEquals(analysed, driver.findElements(By.cssSelector("#esd-gallery .esd")).size());
    }

    @Test
    void compareReportNumericStepsForASeriesCategoriesOtherwise() throws IOException {
        String in = Fixtures.dir("all-minilm-l6-v2").toString();
        Path series = tmp.resolve("series");
        for (String[] v : new String[][] {{"checkpoint-100", "0.03"}, {"checkpoint-300", "0.02"}}) {
            Cli.Run r = Cli.run("rescale", in, "--out", series.resolve(v[0]).toString(), "--apply", "*=tvr:target_std=" + v[1]);
            assertEquals(0, r.exit(), r.err());
        }
        Path cmp = tmp.resolve("cmp");
        Cli.Run r = Cli.run("compare", in, series.resolve("checkpoint-100").toString(), series.resolve("checkpoint-300").toString(), "--out", cmp.toString());
        assertEquals(0, r.exit(), r.err());
        JavascriptExecutor js = open(cmp.resolve("report.html"));
        assertCharts(js, "#compare-layers canvas, #compare-heatmap canvas, #compare-series canvas", 5);
        assertEquals("value", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().xAxis[0].type"), "a series of steps");
        assertEquals("line", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().series[0].type"));
        screenshot("compare");

        Path renamed = tmp.resolve("unrelated");
        Files.createDirectories(renamed);
        Files.move(series.resolve("checkpoint-100"), renamed.resolve("base"));
        Files.move(series.resolve("checkpoint-300"), renamed.resolve("tvr"));
        Path cmp2 = tmp.resolve("cmp2");
        r = Cli.run("compare", in, renamed.resolve("base").toString(), renamed.resolve("tvr").toString(), "--out", cmp2.toString());
        assertEquals(0, r.exit(), r.err());
        js = open(cmp2.resolve("report.html"));
        assertEquals("category", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().xAxis[0].type"), "unrelated checkpoints");
        assertEquals("scatter", js.executeScript("return window.weightlabCharts[window.weightlabCharts.length - 1].getOption().series[0].type"), "points, no lines");
    }

    String firstTensor() {
        return driver.findElement(By.cssSelector("#tensor-table tbody tr td")).getAttribute("title");
    }

    @SuppressWarnings("unchecked")
    static List<Double> columnValues(JavascriptExecutor js, String key) {
        List<Object> v = (List<Object>) js.executeScript("var ths = Array.from(document.querySelectorAll('#tensor-table thead th'));"
                + " var i = ths.map(function (t) { return t.getAttribute('data-key'); }).indexOf(arguments[0]);"
                + " return Array.from(document.querySelectorAll('#tensor-table tbody tr')).map(function (r) { return r.children[i].textContent; })", key);
        List<Double> out = new ArrayList<>();
        for (Object o : v) if (!"–".equals(o)) out.add(Double.parseDouble(String.valueOf(o)));
        return out;
    }
}
