package io.weightlab.common.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;

/**
 * One self-contained, offline HTML page: the page's CSS, Apache ECharts' minified bundle (from its WebJar on the
 * classpath, inlined once), the report's data as JSON and report.js that draws it. No URL is ever fetched, so the
 * file opens from a disk, an S3/HDFS download or an e-mail attachment (docs/design.md, "Reports").
 */
public final class ReportPage {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile String echarts;

    private ReportPage() {}

    /** @param body server-rendered HTML (facts, containers for the charts, static tables) placed before the script */
    public static String render(String title, String body, Map<String, Object> data) {
        StringBuilder h = new StringBuilder(1_200_000 + body.length());
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
                .append("<link rel=\"icon\" href=\"data:,\"><title>").append(StatsHtmlReport.esc(title)).append("</title>\n<style>")
                .append(resource("report.css")).append("</style>\n</head><body>\n<h1>").append(StatsHtmlReport.esc(title)).append("</h1>\n")
                .append("<noscript><p class=\"warn\">The charts and the sortable tables need JavaScript; the tables below are complete without it.</p></noscript>\n")
                .append(body)
                .append("<script>").append(echarts()).append("</script>\n")
                .append("<script type=\"application/json\" id=\"report-data\">").append(json(data)).append("</script>\n")
                .append("<script>").append(resource("report.js")).append("</script>\n</body></html>\n");
        return h.toString();
    }

    /**
     * One row of a page's facts table ({@code <table class="facts">}); a list (models, copied files) one item a line,
     * so long paths do not widen the page. Every page's facts go through here.
     */
    static void fact(StringBuilder h, String k, Object v) {
        h.append("<tr><th class=\"l\">").append(StatsHtmlReport.esc(k)).append("</th><td>");
        if (v instanceof java.util.List<?> l) {
            for (int i = 0; i < l.size(); i++) h.append(i > 0 ? "<br>" : "").append(StatsHtmlReport.esc(String.valueOf(l.get(i))));
        } else h.append(StatsHtmlReport.esc(String.valueOf(v)));
        h.append("</td></tr>");
    }

    /** JSON safe inside a script element: "</" cannot close it early. */
    static String json(Map<String, Object> data) {
        try {
            return JSON.writeValueAsString(Tables.jsonSafe(data)).replace("</", "<\\/");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** ECharts' minified bundle from the WebJar, read once per JVM. */
    static String echarts() {
        String e = echarts;
        if (e == null) {
            String version = webjarVersion();
            e = read(ReportPage.class.getClassLoader(), "META-INF/resources/webjars/echarts/" + version + "/dist/echarts.min.js");
            echarts = e;
        }
        return e;
    }

    static String webjarVersion() {
        Properties p = new Properties();
        try (InputStream in = ReportPage.class.getClassLoader().getResourceAsStream("META-INF/maven/org.webjars.npm/echarts/pom.properties")) {
            if (in == null) throw new IllegalStateException("ECharts WebJar (org.webjars.npm:echarts) is not on the classpath");
            p.load(in);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return p.getProperty("version");
    }

    static String resource(String name) {
        return read(ReportPage.class.getClassLoader(), "io/weightlab/common/report/" + name);
    }

    private static String read(ClassLoader cl, String path) {
        try (InputStream in = cl.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("missing resource " + path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
