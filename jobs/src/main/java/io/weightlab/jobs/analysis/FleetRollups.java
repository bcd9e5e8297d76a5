package io.weightlab.jobs.analysis;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.HivePartitions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.Type;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The roll-up rows of a fleet dataset (docs/fleet.md) for its report page, read with the Parquet library on the
 * driver (no Spark): per checkpoint file, the rows of the given levels with the columns a trend needs, and the
 * checkpoint's model and step from its Hive partition directories. Per-tensor rows are skipped: the page shows
 * groups, and a thousand checkpoints' roll-ups stay a few MB.
 */
public final class FleetRollups {
    static final List<String> COLUMNS = List.of("level", "name", "layer", "module_kind", "tensors", "elements", "mean", "std",
            "kurtosis_excess", "outlier_ratio", "l2", "nan_count", "inf_count", "gg_beta_kurtosis", "checkpoint_uri");

    private FleetRollups() {}

    /** The rows of {@code levels} of every committed checkpoint file under {@code dataset}, each with "model" and "step". */
    public static List<Map<String, Object>> read(Configuration conf, String dataset, Set<String> levels) throws IOException {
        Path root = new Path(dataset);
        FileSystem fs = root.getFileSystem(conf);
        if (!fs.exists(new Path(root, "_fleet"))) throw new UsageException(dataset + ": not a fleet dataset (no _fleet/; written by stats --fleet)");
        List<Map<String, Object>> out = new ArrayList<>();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        String base = fs.makeQualified(root).toUri().getPath();
        while (it.hasNext()) {
            Path f = it.next().getPath();
            String rel = f.toUri().getPath().substring(base.length());
            if (rel.contains("/_") || rel.contains("/.") || !f.getName().endsWith(".parquet")) continue;
            String model = partition(f.getParent().getParent().getName(), "model=");
            String step = partition(f.getParent().getName(), "step=");
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), f).withConf(conf).build()) {
                for (Group g = reader.read(); g != null; g = reader.read()) {
                    Object level = value(g, "level");
                    if (!levels.contains(String.valueOf(level))) continue;
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("model", model);
                    row.put("step", step == null ? null : Long.parseLong(step));
                    for (String c : COLUMNS) row.put(c, value(g, c));
                    out.add(row);
                }
            }
        }
        if (out.isEmpty()) throw new UsageException(dataset + ": the fleet dataset holds no checkpoint's rows (rule: SelectionMatches)");
        return out;
    }

    /** A partition directory's value ({@code model=a%2Fb} → "a/b", the Hive null → null). */
    private static String partition(String dir, String prefix) {
        if (!dir.startsWith(prefix)) return null;
        String v = dir.substring(prefix.length());
        return v.equals(HivePartitions.NULL) ? null : URLDecoder.decode(v, StandardCharsets.UTF_8);
    }

    /** A top-level primitive column's value, or null when absent from the file or not set on this row. */
    private static Object value(Group g, String column) {
        GroupType t = g.getType();
        if (!t.containsField(column)) return null;
        int i = t.getFieldIndex(column);
        Type f = t.getType(i);
        if (!f.isPrimitive() || g.getFieldRepetitionCount(i) == 0) return null;
        return switch (f.asPrimitiveType().getPrimitiveTypeName()) {
            case DOUBLE -> g.getDouble(i, 0);
            case FLOAT -> (double) g.getFloat(i, 0);
            case INT64 -> g.getLong(i, 0);
            case INT32 -> (long) g.getInteger(i, 0);
            case BOOLEAN -> g.getBoolean(i, 0);
            case BINARY -> g.getString(i, 0);
            default -> null;
        };
    }
}
