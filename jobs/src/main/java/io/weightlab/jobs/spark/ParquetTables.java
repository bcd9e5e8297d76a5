package io.weightlab.jobs.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Writes a small table (rows of column -> value) as a Parquet dataset directory holding one zstd file and
 * {@code _SUCCESS}, as Spark's writer lays it out, typed from the values: long, double, boolean, string, and lists
 * (shapes) as list&lt;int64&gt; in the standard three-level layout that Spark, pyarrow and pandas read.
 * Written with the Parquet library through Hadoop's FileSystem (file, hdfs, s3a): a DataFrame write would start
 * Catalyst and a Spark job, about 1 s of a small job's wall time (BENCHMARKS.md, job start-up).
 */
public final class ParquetTables {
    /** The single data file inside the table directory; Spark, pyarrow and pandas read the directory. */
    static final String PART_FILE = "part-00000.zstd.parquet";

    private ParquetTables() {}

    /** Same as {@link #write(Configuration, List, String)} with the session's Hadoop configuration. */
    public static void write(SparkSession spark, List<Map<String, Object>> rows, String path) {
        write(spark.sparkContext().hadoopConfiguration(), rows, path);
    }

    /** Writes {@code rows} to the directory {@code path}, which must not exist yet; nothing when there are no rows. */
    public static void write(Configuration hadoopConf, List<Map<String, Object>> rows, String path) {
        write(hadoopConf, rows, path, Map.of());
    }

    /** As above, with the columns that may be null in every row typed from {@code nullTypes} (see {@link #writeFile}). */
    public static void write(Configuration hadoopConf, List<Map<String, Object>> rows, String path, Map<String, Object> nullTypes) {
        if (rows.isEmpty()) return;
        Path dir = new Path(path);
        try {
            FileSystem fs = dir.getFileSystem(hadoopConf);
            if (fs.exists(dir)) throw new IOException("path " + dir + " already exists");
            writeFile(hadoopConf, rows, new Path(dir, PART_FILE).toString(), nullTypes);
            fs.create(new Path(dir, "_SUCCESS"), false).close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    /**
     * Writes {@code rows} as the one Parquet file {@code file}. A column whose values are all null here is typed from
     * {@code nullTypes} (an example value), so that files written apart (a fleet's checkpoints) share one schema.
     */
    public static void writeFile(Configuration hadoopConf, List<Map<String, Object>> rows, String file, Map<String, Object> nullTypes) {
        LinkedHashSet<String> union = new LinkedHashSet<>(); // optional columns are set on some rows only
        for (Map<String, Object> r : rows) union.addAll(r.keySet());
        List<String> cols = new ArrayList<>(union);
        List<ColumnKind> kinds = new ArrayList<>();
        Types.MessageTypeBuilder schema = Types.buildMessage();
        for (String c : cols) {
            ColumnKind kind = kindOf(rows, c, nullTypes.get(c));
            kinds.add(kind);
            schema.addField(kind.field(c));
        }
        MessageType type = schema.named("spark_schema");
        try {
            SimpleGroupFactory groups = new SimpleGroupFactory(type);
            try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(HadoopOutputFile.fromPath(new Path(file), hadoopConf))
                    .withConf(hadoopConf).withType(type).withCompressionCodec(CompressionCodecName.ZSTD)
                    .withWriteMode(ParquetFileWriter.Mode.CREATE).build()) {
                for (Map<String, Object> r : rows) {
                    Group g = groups.newGroup();
                    for (int i = 0; i < cols.size(); i++) {
                        Object v = r.get(cols.get(i));
                        if (v != null) kinds.get(i).append(g, cols.get(i), v);
                    }
                    writer.write(g);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The Parquet type of a column and how a value goes into it; every column is optional (nullable). */
    private enum ColumnKind {
        LONG {
            Type field(String name) { return Types.optional(PrimitiveTypeName.INT64).named(name); }
            void append(Group g, String name, Object v) { g.append(name, ((Number) v).longValue()); }
        },
        DOUBLE {
            Type field(String name) { return Types.optional(PrimitiveTypeName.DOUBLE).named(name); }
            void append(Group g, String name, Object v) { g.append(name, ((Number) v).doubleValue()); }
        },
        BOOLEAN {
            Type field(String name) { return Types.optional(PrimitiveTypeName.BOOLEAN).named(name); }
            void append(Group g, String name, Object v) { g.append(name, (Boolean) v); }
        },
        STRING {
            Type field(String name) {
                return Types.optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(name);
            }
            void append(Group g, String name, Object v) { g.append(name, v.toString()); }
        },
        /** shapes (docs/schema.md): optional group (LIST) { repeated group list { optional int64 element } } */
        LONG_LIST {
            Type field(String name) {
                return Types.optionalList().optionalElement(PrimitiveTypeName.INT64).named(name);
            }
            void append(Group g, String name, Object v) {
                Group list = g.addGroup(name);
                for (Object e : (List<?>) v) {
                    Group entry = list.addGroup("list");
                    if (e != null) entry.append("element", ((Number) e).longValue());
                }
            }
        };

        abstract Type field(String name);

        abstract void append(Group g, String name, Object v);
    }

    private static ColumnKind kindOf(List<Map<String, Object>> rows, String col, Object whenNull) {
        List<Map<String, Object>> probe = new ArrayList<>(rows);
        if (whenNull != null) probe.add(Map.of(col, whenNull));
        for (Map<String, Object> r : probe) {
            Object v = r.get(col);
            if (v == null) continue;
            if (v instanceof Double || v instanceof Float) return ColumnKind.DOUBLE;
            if (v instanceof Long || v instanceof Integer) return ColumnKind.LONG;
            if (v instanceof Boolean) return ColumnKind.BOOLEAN;
            if (v instanceof List<?>) return ColumnKind.LONG_LIST;
            return ColumnKind.STRING;
        }
        return ColumnKind.STRING;
    }
}
