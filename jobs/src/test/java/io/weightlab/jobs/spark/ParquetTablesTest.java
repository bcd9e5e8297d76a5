package io.weightlab.jobs.spark;

import io.weightlab.jobs.TestSpark;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The direct Parquet writer gives Spark's reader the same table the DataFrame writer gave (types from the values). */
public class ParquetTablesTest {
    @TempDir
    Path tmp;

    private static Map<String, Object> row(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    @Test
    void sparkReadsTheTypesAndValuesTheDataFrameWriterGave() {
        List<Map<String, Object>> rows = List.of(
                row("name", "a.weight", "shape", List.of(384L, 1536L), "numel", 589824, "mean", 0.25, "finite", true),
                row("name", "b.bias", "shape", List.of(7), "numel", 7L, "mean", 1, "finite", false, "note", "only here"));
        String path = tmp.resolve("t.parquet").toString();
        ParquetTables.write(new Configuration(), rows, path);
        assertTrue(Files.isRegularFile(tmp.resolve("t.parquet").resolve("_SUCCESS")));

        SparkSession spark = TestSpark.get();
        StructType expected = new StructType()
                .add("name", DataTypes.StringType).add("shape", DataTypes.createArrayType(DataTypes.LongType))
                .add("numel", DataTypes.LongType).add("mean", DataTypes.DoubleType)
                .add("finite", DataTypes.BooleanType).add("note", DataTypes.StringType);
        var df = spark.read().parquet(path);
        assertEquals(expected, df.schema());
        List<Row> got = df.collectAsList();
        assertEquals(2, got.size());
        assertEquals(List.of(384L, 1536L), got.get(0).getList(1));
        assertEquals(589824L, got.get(0).getLong(2));
        assertEquals(1.0, got.get(1).getDouble(3)); // an int in a double column is widened, as before
        assertEquals(false, got.get(1).getBoolean(4));
        assertNull(got.get(0).get(5));
        assertEquals("only here", got.get(1).getString(5));
    }

    @Test
    void refusesAnExistingTableAndWritesNothingForNoRows() {
        String path = tmp.resolve("t.parquet").toString();
        ParquetTables.write(new Configuration(), List.of(), path);
        assertTrue(Files.notExists(tmp.resolve("t.parquet")));
        ParquetTables.write(new Configuration(), List.of(row("name", "x")), path);
        assertThrows(UncheckedIOException.class, () -> ParquetTables.write(new Configuration(), List.of(row("name", "x")), path));
    }
}
