package io.weightlab.common.linalg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Eigenvector localisation and Conv2D pooling against WeightWatcher's oracles (rmt-privacy.md A, oracles 6 and 7)
 * and against vector_reference.py (np.histogram, np.linalg.svd per kernel slice).
 */
class VectorLocalizationTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void basisAndFlatVectorsGiveTheOracleRatios() {
        int n = 256;
        double[] e1 = new double[n], flat = new double[n];
        e1[0] = 1;
        Arrays.fill(flat, 1 / Math.sqrt(n));
        assertEquals(1.0, VectorLocalization.localizationRatio(e1), 1e-15);
        assertEquals(1.0, VectorLocalization.participationRatio(e1), 1e-15);
        assertEquals(n, VectorLocalization.localizationRatio(flat), 1e-12);
        assertEquals(Math.pow(n, 0.25), VectorLocalization.participationRatio(flat), 1e-12);
    }

    @Test
    void splitAtXminAndEmptyGroups() {
        List<VectorLocalization.Metrics> v = List.of(new VectorLocalization.Metrics(1, 1, 2, 3),
                new VectorLocalization.Metrics(2, 3, 4, 5), new VectorLocalization.Metrics(5, 7, 8, 9));
        Map<String, Object> c = VectorLocalization.columns(v, 2);
        assertEquals(1.0, c.get("bulk_mean_vec_entropy"));
        assertEquals(0.0, c.get("bulk_var_loc_ratio"));
        assertEquals(5.0, c.get("tail_mean_vec_entropy"), "λ = xmin is tail, as num_pl_spikes counts it");
        assertEquals(4.0, c.get("tail_var_part_ratio"), "population variance (np.var)");
        Map<String, Object> noFit = VectorLocalization.columns(v, -1);
        assertEquals(11.0 / 3, (double) noFit.get("bulk_mean_vec_entropy"), 1e-15);
        assertTrue(Double.isNaN((double) noFit.get("tail_mean_loc_ratio")), "no xmin: no tail");
        assertEquals(12, VectorLocalization.missing().size());
    }

    @Test
    void entropyAndConvPoolingMatchNumpy(@TempDir Path tmp) throws IOException {
        Python.require("numpy");
        JsonNode ref = JSON.readTree(Python.script(Python.testScript("vector_reference.py"), "make", tmp.toString()));
        double[] v = read(tmp.resolve("vec.bin"));
        JsonNode rv = ref.get("vec");
        assertEquals(rv.get("vec_entropy").asDouble(), VectorLocalization.discreteEntropy(v), 1e-12);
        assertEquals(rv.get("loc_ratio").asDouble(), VectorLocalization.localizationRatio(v), 1e-12);
        assertEquals(rv.get("part_ratio").asDouble(), VectorLocalization.participationRatio(v), 1e-12);

        // oracle 7: (64, 32, 3, 3) gives M = 32, rf = 9, 288 eigenvalues = ½s² of the nine slices
        double[] k = read(tmp.resolve("conv.bin"));
        long[] shape = {64, 32, 3, 3};
        Conv2dSpectrum.Pooled p = Conv2dSpectrum.pooled(k, shape, true);
        assertEquals(new Conv2dSpectrum.Layout(64, 32, 9, true), p.layout());
        JsonNode evals = ref.get("conv_evals");
        assertEquals(288, evals.size());
        assertEquals(288, p.singularValues().length);
        for (int i = 0; i < 288; i++) {
            double s = p.singularValues()[i];
            assertEquals(evals.get(i).asDouble(), s * s, 1e-10 * evals.get(i).asDouble(), "eigenvalue " + i);
        }
        Map<String, Object> cols = VectorLocalization.columns(p.vectors(), ref.get("xmin").asDouble());
        ref.get("conv_columns").fields().forEachRemaining(e ->
                assertEquals(e.getValue().asDouble(), (double) cols.get(e.getKey()), 1e-10 * Math.abs(e.getValue().asDouble()), e.getKey()));

        // the same kernel in Keras's (kh, kw, in, out) layout: slices W[i,j,:,:] are the transposes, same ESD
        double[] keras = new double[k.length];
        for (int o = 0; o < 64; o++) for (int c = 0; c < 32; c++) for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) {
            keras[((i * 3 + j) * 32 + c) * 64 + o] = k[((o * 32 + c) * 3 + i) * 3 + j];
        }
        Conv2dSpectrum.Pooled kp = Conv2dSpectrum.pooled(keras, new long[] {3, 3, 32, 64}, false);
        assertEquals(new Conv2dSpectrum.Layout(64, 32, 9, false), kp.layout());
        for (int i = 0; i < 288; i++) assertEquals(p.singularValues()[i], kp.singularValues()[i], 1e-12 * p.singularValues()[0]);
    }

    static double[] read(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(out);
        return out;
    }
}
