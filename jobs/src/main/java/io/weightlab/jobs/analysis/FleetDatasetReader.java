package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.common.fleet.HivePartitions;
import io.weightlab.common.report.FleetReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
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
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A fleet dataset (docs/fleet.md) as its report page needs it, read with the Parquet library on the driver (no
 * Spark): which job wrote it, the rows of the levels and columns the page draws (per checkpoint file, with the
 * checkpoint's model and step from its Hive partition directories and the file's path) and every run record. A
 * stats dataset gives its roll-ups (per-tensor rows are skipped: the page shows groups, and a thousand checkpoints'
 * roll-ups stay a few MB), a spectrum dataset its matrices' power-law and rank columns, a compare dataset its layer
 * rows.
 */
public final class FleetDatasetReader {
    static final List<String> STATS_COLUMNS = List.of("level", "name", "layer", "module_kind", "tensors", "elements", "mean", "std",
            "kurtosis_excess", "outlier_ratio", "l2", "nan_count", "inf_count", "gg_beta_kurtosis", "checkpoint_uri");
    static final List<String> SPECTRUM_COLUMNS = List.of("name", "layer", "module_kind", "status", "alpha", "alpha_status",
            "stable_rank", "log_spectral_norm", "checkpoint_uri");
    static final List<String> COMPARE_COLUMNS = List.of("level", "layer", "layer_index", "tensors", "rel_delta", "rotation",
            "checkpoint_uri", "against_uri", "against_step");

    private FleetDatasetReader() {}

    /** The dataset's job, its page rows and its run records (oldest first). */
    public static FleetReport.Dataset read(Configuration conf, String dataset) throws IOException {
        Path root = new Path(dataset);
        FileSystem fs = root.getFileSystem(conf);
        if (!fs.exists(new Path(root, "_fleet"))) {
            throw new UsageException(dataset + ": not a fleet dataset (no _fleet/; written by stats, spectrum or compare over a fleet)");
        }
        String job = FleetDataset.jobOf(fs, root);
        List<Map<String, Object>> rows = switch (job == null ? "" : job) {
            case "stats" -> rows(fs, conf, root, Set.of("model", "module_kind", "layer"), STATS_COLUMNS);
            case "spectrum" -> rows(fs, conf, root, null, SPECTRUM_COLUMNS);
            case "compare" -> rows(fs, conf, root, Set.of("layer"), COMPARE_COLUMNS);
            case "inspect" -> throw new UsageException(dataset + ": an inspect dataset lists tensors and holds no metric to draw; "
                    + "give the datasets of stats, spectrum or compare");
            default -> throw new UsageException(dataset + ": the fleet dataset names no job (_fleet/job nor a run record)");
        };
        if (rows.isEmpty()) throw new UsageException(dataset + ": the fleet dataset holds no checkpoint's rows (rule: SelectionMatches)");
        return new FleetReport.Dataset(fs.makeQualified(root).toString(), job, rows, runs(fs, root));
    }

    /** The rows of {@code levels} (all rows when null) of every committed checkpoint file, each with "model", "step" and "file". */
    private static List<Map<String, Object>> rows(FileSystem fs, Configuration conf, Path root, Set<String> levels, List<String> columns) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        String base = fs.makeQualified(root).toUri().getPath();
        while (it.hasNext()) {
            Path f = it.next().getPath();
            String rel = f.toUri().getPath().substring(base.length());
            if (rel.contains("/_") || rel.contains("/.") || !f.getName().endsWith(".parquet")) continue;
            String model = partition(f.getParent().getParent().getName(), "model=");
            String step = partition(f.getParent().getName(), "step=");
            String file = rel.startsWith("/") ? rel.substring(1) : rel;
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), f).withConf(conf).build()) {
                for (Group g = reader.read(); g != null; g = reader.read()) {
                    if (levels != null && !levels.contains(String.valueOf(value(g, "level")))) continue;
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("model", model);
                    row.put("step", step == null ? null : Long.parseLong(step));
                    row.put("file", file);
                    for (String c : columns) row.put(c, value(g, c));
                    out.add(row);
                }
            }
        }
        return out;
    }

    /** Every record under {@code _fleet/runs/}, oldest first (run ids begin with their start time). */
    private static List<Map<String, Object>> runs(FileSystem fs, Path root) throws IOException {
        Path dir = new Path(root, FleetDataset.RUNS);
        List<Map<String, Object>> out = new ArrayList<>();
        if (!fs.exists(dir)) return out;
        List<FileStatus> files = new ArrayList<>(List.of(fs.listStatus(dir, p -> p.getName().endsWith(".json"))));
        files.sort(Comparator.comparing(s -> s.getPath().getName()));
        ObjectMapper json = new ObjectMapper();
        for (FileStatus s : files) {
            try (InputStream in = fs.open(s.getPath())) {
                out.add(json.readValue(in, new TypeReference<Map<String, Object>>() {}));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new UsageException(s.getPath() + ": not a run record (" + e.getOriginalMessage() + ")");
            }
        }
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
