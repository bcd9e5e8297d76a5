package io.weightlab.jobs.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.jobs.TestSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.mllib.linalg.Vector;
import org.apache.spark.mllib.linalg.Vectors;
import org.apache.spark.mllib.linalg.distributed.RowMatrix;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Spark MLlib's distributed SVD ({@code RowMatrix.computeSVD}, which sums the Gramian over the rows and
 * eigendecomposes it on the driver) is the anchor of our distributed Gram route: on the same tall matrix, in
 * 19 row slices, both give numpy's gesdd singular values (the fixture's reference) and each other's.
 */
class MllibAnchorTest {
    static final String NAME = "encoder.layer.0.intermediate.dense.weight"; // 1536 x 384

    @Test
    void distributedGramRouteAgreesWithMllibsRowMatrixSvd() {
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode numpy = Fixtures.reference("all-minilm-l6-v2").get("tensors").get(NAME).get("svd").get("singular_values");
        // A 1 MiB budget sends the 4.5 MiB (as doubles) matrix through the distributed Gram route.
        List<SpectrumJob.MatrixResult> r = SpectrumJobTest.withBlockBytes(256 << 10, new SpectrumJob.Options(in, null, false, Set.of(),
                1L << 20, true, new int[] {128, 128}, false));
        SpectrumJob.MatrixResult ours = SpectrumJobTest.named(r, NAME);
        assertEquals("gram (distributed AᵀA over 19 row slices + dsyevd)", ours.row().get("method"));

        double[] w = SpectrumJobTest.readAll(io.weightlab.common.io.CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(), in), NAME);
        List<Vector> rows = new ArrayList<>();
        for (int i = 0; i < 1536; i++) rows.add(Vectors.dense(Arrays.copyOfRange(w, i * 384, (i + 1) * 384)));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.get().sparkContext());
        RowMatrix m = new RowMatrix(jsc.parallelize(rows, 19).rdd());
        double[] mllib = m.computeSVD(384, false, 1e-12).s().toArray();

        // Both square the condition number (eigenvalues of AᵀA): σ within 1e-9 of σ₁ for the top 64 (σ₁/σ₆₄ ≈ 3 here).
        double s1 = numpy.get(0).asDouble();
        for (int i = 0; i < 64; i++) {
            assertEquals(numpy.get(i).asDouble(), mllib[i], 1e-9 * s1, "MLlib σ" + i + " vs numpy gesdd");
            assertEquals(mllib[i], ours.singularValues()[i], 1e-9 * s1, "our distributed Gram σ" + i + " vs MLlib");
        }
    }
}
