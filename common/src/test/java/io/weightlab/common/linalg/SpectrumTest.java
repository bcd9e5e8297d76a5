package io.weightlab.common.linalg;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Singular values and spectral metrics against the fixtures' numpy gesdd and the closed forms of §7.4–7.5. */
class SpectrumTest {

    /** Every 2-D tensor of both fixtures: all singular values within 1e-10 of sv_max, stable/effective rank. */
    @ParameterizedTest
    @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q"})
    void singularValuesMatchNumpy(String fixture) {
        JsonNode ref = Fixtures.reference(fixture).get("tensors");
        Checkpoint c = CheckpointCatalog.open(new Configuration(), Fixtures.dir(fixture).toUri().toString());
        int checked = 0;
        try (RangeReader r = new RangeReader(new Configuration())) {
            for (TensorInfo t : c.tensors()) {
                JsonNode svd = ref.get(t.name()).get("svd");
                if (svd == null) continue;
                int rows = (int) t.dim(0), cols = (int) t.dim(1);
                double[] a = new double[rows * cols];
                ElementDecoder.decode(t.dtype(), r.read(t.file(), t.dataBegin(), (int) t.byteLength()), 0, a.length, a, 0);
                double[] sv = Lapack.singularValues(a, rows, cols);
                JsonNode e = svd.get("singular_values");
                assertEquals(e.size(), sv.length, t.name());
                double tol = 1e-10 * e.get(0).asDouble();
                for (int i = 0; i < sv.length; i++) assertEquals(e.get(i).asDouble(), sv[i], tol, t.name() + " sv " + i);
                Map<String, Object> m = SpectralMetrics.of(sv, Math.max(rows, cols), true);
                assertEquals(svd.get("stable_rank").asDouble(), (double) m.get("stable_rank"), 1e-10 * svd.get("stable_rank").asDouble(), t.name());
                assertEquals(svd.get("effective_rank").asDouble(), (double) m.get("effective_rank"), 1e-10 * svd.get("effective_rank").asDouble(), t.name());
                checked++;
            }
        }
        assertEquals(40, checked);
    }

    /** W = c·I_M: λ = c², stable rank M, entropy 1, log_norm = log10(M c²). */
    @Test
    void scaledIdentity() {
        int m = 64;
        double c = 0.3;
        double[] a = new double[m * m];
        for (int i = 0; i < m; i++) a[i * m + i] = c;
        double[] sv = Lapack.singularValues(a, m, m);
        for (double s : sv) assertEquals(c, s, 1e-15);
        Map<String, Object> x = SpectralMetrics.of(sv, m, false);
        assertEquals(m, (double) x.get("stable_rank"), 1e-12);
        assertEquals(1.0, (double) x.get("entropy"), 1e-6);
        assertEquals(Math.log10(m * c * c), (double) x.get("log_norm"), 1e-12);
        assertEquals(m, (double) x.get("effective_rank"), 1e-9);
        assertEquals(m, (int) x.get("matrix_rank"));
        assertEquals(1.0, (double) x.get("condition_number"), 1e-12);
        assertEquals(1.0 / m, (double) x.get("energy_top_1"), 1e-12);
        assertEquals(16.0 / m, (double) x.get("energy_top_16"), 1e-12);
        assertEquals(1.0, (double) x.get("energy_top_64"), 1e-12);
        assertEquals(Math.log10(c * c), (double) x.get("log_spectral_norm"), 1e-12);
    }

    /** Effective rank closed forms and a rectangular matrix's singular values from its Gram eigenvalues. */
    @Test
    void effectiveRankAndRectangularShapes() {
        assertEquals(2.0, (double) SpectralMetrics.of(new double[] {1, 1, 0}, 3, false).get("effective_rank"), 1e-12);
        assertEquals(1.0, (double) SpectralMetrics.of(new double[] {1, 0, 0}, 3, false).get("effective_rank"), 1e-12);
        // [[3, 0], [0, 4], [0, 0]] has singular values 4 and 3, whichever way it is stored
        assertTrue(java.util.Arrays.equals(new double[] {4, 3}, Lapack.singularValues(new double[] {3, 0, 0, 4, 0, 0}, 3, 2)));
        assertTrue(java.util.Arrays.equals(new double[] {4, 3}, Lapack.singularValues(new double[] {3, 0, 0, 0, 4, 0}, 2, 3)));
    }

    /** A Pareto tail with α = 3 (density exponent) over 5000 eigenvalues: the fit finds α within ±0.1. */
    @Test
    void plantedPowerLawTail() {
        Random r = new Random(7);
        double[] evals = new double[5000];
        for (int i = 0; i < evals.length; i++) evals[i] = Math.pow(1 - r.nextDouble(), -1.0 / (3 - 1));
        PowerLawFit f = PowerLawFit.fit(evals);
        assertEquals(3.0, f.alpha(), 0.1);
        assertTrue(f.pairsVisited() < 5000L * 5000 / 4, "the pruned scan visited " + f.pairsVisited() + " pairs");
        // scale invariance of α (x_j / x_i ratios)
        double[] scaled = evals.clone();
        for (int i = 0; i < scaled.length; i++) scaled[i] *= 9;
        assertEquals(f.alpha(), PowerLawFit.fit(scaled).alpha(), 1e-9);
    }

    /** The pruned scan picks the same x_min and α as the exhaustive one. */
    @Test
    void prunedScanEqualsExhaustive() {
        Random r = new Random(3);
        for (int trial = 0; trial < 5; trial++) {
            double[] ev = new double[400];
            for (int i = 0; i < ev.length; i++) ev[i] = Math.exp(r.nextGaussian() * 2) + (i % 50 == 0 ? 100 * r.nextDouble() : 0);
            PowerLawFit f = PowerLawFit.fit(ev);
            double[] x = java.util.Arrays.stream(ev).filter(v -> v > PowerLawFit.MIN_EIGENVALUE).sorted().toArray();
            double bestD = Double.POSITIVE_INFINITY, bestA = -1, bestX = 0;
            for (int i = 0; i < x.length - 1; i++) {
                int n = x.length - i;
                double s = 0;
                for (int j = i; j < x.length; j++) s += Math.log(x[j]);
                double a = 1 + n / (s - n * Math.log(x[i]));
                double d = 0;
                if (a <= 1) d = 1;
                else for (int j = 0; j < n; j++) d = Math.max(d, Math.abs(1 - Math.pow(x[i + j] / x[i], 1 - a) - (double) j / n));
                if (d < bestD) { bestD = d; bestA = a; bestX = x[i]; }
            }
            assertEquals(bestX, f.xmin(), 0.0);
            assertEquals(bestA, f.alpha(), 1e-9);
            assertEquals(bestD, f.d(), 1e-12);
        }
    }

    /** Eckart–Young: the rank-r truncation of the thin SVD leaves exactly Σ_{i>r} σ_i² of ‖W‖_F². */
    @Test
    void factorsGiveTheBestRankRApproximation() {
        java.util.Random r = new java.util.Random(9);
        int rows = 120, cols = 80, rank = 10;
        double[] a = new double[rows * cols];
        for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
        Lapack.Factors f = Lapack.svd(a, rows, cols);
        double[] values = Lapack.singularValues(a, rows, cols);
        assertEquals(80, f.k());
        for (int i = 0; i < f.k(); i++) assertEquals(values[i], f.s()[i], 1e-12 * values[0]);
        double err = 0, tail = 0;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double x = 0;
                for (int t = 0; t < rank; t++) x += f.u()[i * f.k() + t] * f.s()[t] * f.vt()[t * cols + j];
                err += (a[i * cols + j] - x) * (a[i * cols + j] - x);
            }
        }
        for (int t = rank; t < f.k(); t++) tail += f.s()[t] * f.s()[t];
        assertEquals(tail, err, 1e-9 * tail);
        // U has orthonormal columns
        for (int p = 0; p < 5; p++) {
            for (int q = 0; q < 5; q++) {
                double dot = 0;
                for (int i = 0; i < rows; i++) dot += f.u()[i * f.k() + p] * f.u()[i * f.k() + q];
                assertEquals(p == q ? 1.0 : 0.0, dot, 1e-12);
            }
        }
    }
}
