import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.mllib.linalg.Vector;
import org.apache.spark.mllib.linalg.Vectors;
import org.apache.spark.mllib.linalg.distributed.RowMatrix;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a Spark user would write without WeightLab: one tall tensor read as rows on the executors into an MLlib
 * {@code RowMatrix}, then {@code computeSVD(n)} (MLlib sums the Gramian over the rows and eigendecomposes the
 * n x n matrix on the driver). Prints the seconds and every singular value as JSON.
 *   MllibRowMatrixSvd CHECKPOINT TENSOR MASTER SLICES
 */
public final class MllibRowMatrixSvd {
    public static void main(String[] args) throws Exception {
        String ckpt = args[0], name = args[1], master = args[2];
        int slices = Integer.parseInt(args[3]);
        Checkpoint c = CheckpointCatalog.open(new Configuration(), ckpt);
        TensorInfo t = c.tensor(name);
        int rows = (int) t.dim(0), cols = (int) t.dim(1);
        SparkConf conf = new SparkConf().setMaster(master).setAppName("mllib-rowmatrix-svd").set("spark.ui.enabled", "false");
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            long t0 = System.nanoTime();
            List<int[]> ranges = new ArrayList<>();
            for (int s = 0; s < slices; s++) ranges.add(new int[] {(int) ((long) rows * s / slices), (int) ((long) rows * (s + 1) / slices)});
            JavaRDD<Vector> vectors = jsc.parallelize(ranges, slices).flatMap(range -> {
                List<Vector> out = new ArrayList<>();
                try (RangeReader r = new RangeReader(new Configuration())) {
                    double[] v = TensorValues.read(r, t, (long) range[0] * cols, (long) range[1] * cols, null);
                    for (int i = 0; i < range[1] - range[0]; i++) out.add(Vectors.dense(java.util.Arrays.copyOfRange(v, i * cols, (i + 1) * cols)));
                }
                return out.iterator();
            });
            double[] s = new RowMatrix(vectors.rdd(), rows, cols).computeSVD(cols, false, 1e-12).s().toArray();
            double secs = (System.nanoTime() - t0) / 1e9;
            StringBuilder j = new StringBuilder(String.format(Locale.ROOT, "{\"seconds\": %.3f, \"rows\": %d, \"cols\": %d, \"singular_values\": [", secs, rows, cols));
            for (int i = 0; i < s.length; i++) j.append(i == 0 ? "" : ", ").append(s[i]);
            System.out.println(j.append("]}"));
        }
    }
}
