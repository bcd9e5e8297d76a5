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
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * The wide matrix (384 x 1536) takes our distributed route on AAᵀ over column blocks; MLlib's
     * {@code computeGramianMatrix} over the 1536 columns as rows is the same AAᵀ. The eigenvalues of MLlib's Gramian
     * (dsyevd) and our values agree to 1e-12·σ₁; where our certificate says 8 digits every value is within 1e-8 of
     * numpy's gesdd (the fixture's reference), and the certificate is ε·σ₁²/σ_min² of the reported values.
     */
    @Test
    void distributedGramOfAWideMatrixAgreesWithMllibsGramianAndItsCertificateHolds() {
        String wideName = "encoder.layer.0.output.dense.weight"; // 384 x 1536
        String in = Fixtures.dir("all-minilm-l6-v2").toUri().toString();
        JsonNode numpy = Fixtures.reference("all-minilm-l6-v2").get("tensors").get(wideName).get("svd").get("singular_values");
        List<SpectrumJob.MatrixResult> r = SpectrumJobTest.withBlockBytes(256 << 10, new SpectrumJob.Options(in, null, false, Set.of(),
                1L << 20, false, new int[] {128, 128}, false));
        SpectrumJob.MatrixResult ours = SpectrumJobTest.named(r, wideName);
        assertEquals("gram_distributed", ours.row().get("sv_route"));

        double[] w = SpectrumJobTest.readAll(io.weightlab.common.io.CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(), in), wideName);
        List<Vector> columns = new ArrayList<>();
        for (int j = 0; j < 1536; j++) {
            double[] c = new double[384];
            for (int i = 0; i < 384; i++) c[i] = w[i * 1536 + j];
            columns.add(Vectors.dense(c));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.get().sparkContext());
        double[] gramian = new RowMatrix(jsc.parallelize(columns, 7).rdd()).computeGramianMatrix().toArray(); // 384 x 384, symmetric
        double[] ev = io.weightlab.common.linalg.Lapack.symmetricEigenvalues(gramian, 384);
        double[] sv = ours.singularValues();
        double s1 = sv[0];
        for (int i = 0; i < 384; i++) assertEquals(Math.sqrt(Math.max(0, ev[383 - i])), sv[i], 1e-12 * s1, "σ" + i + " vs MLlib's Gramian");

        double est = (double) ours.row().get("sv_rel_error_est");
        assertEquals(Math.ulp(1.0) * (s1 / sv[383]) * (s1 / sv[383]), est, 1e-12 * est);
        assertEquals(est <= 1e-8, ours.row().get("sv_certified"));
        assertTrue((Boolean) ours.row().get("sv_certified"), "this matrix is well conditioned: estimate " + est);
        for (int i = 0; i < 384; i++) {
            assertEquals(numpy.get(i).asDouble(), sv[i], 1e-8 * numpy.get(i).asDouble(), "σ" + i + " vs numpy gesdd where certified");
        }
    }
}
