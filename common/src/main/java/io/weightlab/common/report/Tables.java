package io.weightlab.common.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tables as JSON and CSV. Doubles are printed with {@link Double#toString}, the shortest text that reads back
 * to the same double, so no precision is lost; non-finite numbers become JSON null and CSV "NaN"/"Infinity".
 */
public final class Tables {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private Tables() {}

    public static ObjectMapper json() { return JSON; }

    /** Replaces non-finite doubles (and inside arrays) with null, recursively. */
    public static Object jsonSafe(Object v) {
        if (v instanceof Double d) return Double.isFinite(d) ? d : null;
        if (v instanceof Float f) return Float.isFinite(f) ? f : null;
        if (v instanceof double[] a) {
            List<Object> l = new ArrayList<>();
            for (double x : a) l.add(Double.isFinite(x) ? x : null);
            return l;
        }
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> o = new LinkedHashMap<>();
            m.forEach((k, x) -> o.put(k, jsonSafe(x)));
            return o;
        }
        if (v instanceof List<?> l) {
            List<Object> o = new ArrayList<>();
            for (Object x : l) o.add(jsonSafe(x));
            return o;
        }
        return v;
    }

    public static void writeJson(OutputStream out, Object value) throws IOException {
        JSON.writeValue(out, jsonSafe(value));
    }

    public static void writeCsv(OutputStream out, List<Map<String, Object>> rows) throws IOException {
        Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        if (!rows.isEmpty()) {
            // every column any row has, in first-seen order: optional columns (set on some rows only) are not lost
            java.util.LinkedHashSet<String> union = new java.util.LinkedHashSet<>();
            for (Map<String, Object> r : rows) union.addAll(r.keySet());
            List<String> cols = new ArrayList<>(union);
            w.write(String.join(",", cols.stream().map(Tables::csvField).toList()));
            w.write('\n');
            for (Map<String, Object> r : rows) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < cols.size(); i++) {
                    if (i > 0) sb.append(',');
                    Object v = r.get(cols.get(i));
                    sb.append(v == null ? "" : csvField(v instanceof Double d ? Double.toString(d) : String.valueOf(v)));
                }
                w.write(sb.append('\n').toString());
            }
        }
        w.flush();
    }

    static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
