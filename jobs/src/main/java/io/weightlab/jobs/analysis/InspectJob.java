package io.weightlab.jobs.analysis;

import io.weightlab.jobs.spark.Format;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** {@code weightlab inspect}: what a checkpoint holds, from its headers only. */
public final class InspectJob {
    private InspectJob() {}

    /** One row per tensor. */
    public static List<Map<String, Object>> tensorRows(Checkpoint c) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (TensorInfo t : c.tensors()) {
            TensorName n = TensorName.parse(t.name());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("dtype", t.dtype().name());
            m.put("shape", t.shapeList());
            m.put("parameters", t.elementCount());
            m.put("bytes", t.byteLength());
            m.put("shard", t.file().substring(t.file().lastIndexOf('/') + 1));
            m.put("stack", n.stack());
            m.put("layer", n.layer());
            m.put("expert", n.expert());
            m.put("module_kind", n.kind().label());
            m.put("role", n.role().name().toLowerCase());
            m.put("param", n.param().name().toLowerCase());
            rows.add(m);
        }
        return rows;
    }

    /** Totals per dtype, per layer and per module kind: {group -> {key -> [tensors, parameters, bytes]}}. */
    public static Map<String, Map<String, long[]>> totals(Checkpoint c) {
        Map<String, Map<String, long[]>> out = new LinkedHashMap<>();
        out.put("dtype", new TreeMap<>());
        out.put("layer", new TreeMap<>(io.weightlab.common.io.NaturalOrder.INSTANCE));
        out.put("module_kind", new TreeMap<>());
        for (TensorInfo t : c.tensors()) {
            TensorName n = TensorName.parse(t.name());
            add(out.get("dtype"), t.dtype().name(), t);
            add(out.get("layer"), n.layerKey(), t);
            add(out.get("module_kind"), n.kind().label(), t);
        }
        return out;
    }

    private static void add(Map<String, long[]> m, String k, TensorInfo t) {
        long[] v = m.computeIfAbsent(k, x -> new long[3]);
        v[0]++;
        v[1] += t.elementCount();
        v[2] += t.byteLength();
    }

    /** The first line {@link #print} prints: the checkpoint, its tensors, parameters, bytes and files. */
    public static String summaryLine(Checkpoint c) {
        return String.format("%s: %d tensors, %s parameters, %s in %d file(s)", c.root(), c.tensors().size(),
                Format.count(c.parameterCount()), Format.bytes(c.totalBytes()), c.shards().size());
    }

    public static void print(Checkpoint c, PrintStream out, boolean allTensors) {
        out.printf("%s%n", summaryLine(c));
        if (allTensors) {
            out.printf("%n%-60s %-8s %-16s %12s %10s %6s %-20s%n", "name", "dtype", "shape", "params", "bytes", "layer", "kind");
            for (Map<String, Object> r : tensorRows(c)) {
                out.printf("%-60s %-8s %-16s %12d %10s %6s %-20s%n", r.get("name"), r.get("dtype"), r.get("shape"), (long) r.get("parameters"),
                        Format.bytes((long) r.get("bytes")), r.get("layer") == null ? "-" : r.get("layer"), r.get("module_kind"));
            }
        }
        for (Map.Entry<String, Map<String, long[]>> g : totals(c).entrySet()) {
            out.printf("%nby %s%n", g.getKey());
            for (Map.Entry<String, long[]> e : g.getValue().entrySet()) {
                out.printf("  %-28s %5d tensors %12s params %10s%n", e.getKey(), e.getValue()[0], Format.count(e.getValue()[1]), Format.bytes(e.getValue()[2]));
            }
        }
    }
}
