package io.weightlab.jobs.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes a small table (rows of column -> value) as one Parquet file through Spark, typed from the values (lists are shapes: list<int64>). */
public final class ParquetTables {
    private ParquetTables() {}

    public static void write(SparkSession spark, List<Map<String, Object>> rows, String path) {
        if (rows.isEmpty()) return;
        java.util.LinkedHashSet<String> union = new java.util.LinkedHashSet<>(); // optional columns are set on some rows only
        for (Map<String, Object> r : rows) union.addAll(r.keySet());
        List<String> cols = new ArrayList<>(union);
        List<StructField> fields = new ArrayList<>();
        for (String c : cols) fields.add(DataTypes.createStructField(c, typeOf(rows, c), true));
        StructType schema = DataTypes.createStructType(fields);
        List<Row> data = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            Object[] v = new Object[cols.size()];
            for (int i = 0; i < v.length; i++) v[i] = coerce(r.get(cols.get(i)), fields.get(i).dataType());
            data.add(RowFactory.create(v));
        }
        spark.createDataFrame(data, schema).coalesce(1).write().parquet(path);
    }

    private static DataType typeOf(List<Map<String, Object>> rows, String col) {
        for (Map<String, Object> r : rows) {
            Object v = r.get(col);
            if (v == null) continue;
            if (v instanceof Double || v instanceof Float) return DataTypes.DoubleType;
            if (v instanceof Long) return DataTypes.LongType;
            if (v instanceof Integer) return DataTypes.LongType;
            if (v instanceof Boolean) return DataTypes.BooleanType;
            if (v instanceof List<?>) return DataTypes.createArrayType(DataTypes.LongType); // shapes (docs/schema.md)
            return DataTypes.StringType;
        }
        return DataTypes.StringType;
    }

    private static Object coerce(Object v, DataType t) {
        if (v == null) return null;
        if (t == DataTypes.LongType) return ((Number) v).longValue();
        if (t == DataTypes.DoubleType) return ((Number) v).doubleValue();
        if (t == DataTypes.StringType) return v.toString();
        return v;
    }
}
