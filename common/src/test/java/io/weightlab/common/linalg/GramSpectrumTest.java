package io.weightlab.common.linalg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Gram route against numpy's gesdd on planted matrices (numpy draws them: Gaussian, planted spectra of known
 * condition, a rank-deficient one): where it certifies itself the values match to 1e-8 relative, and the
 * ill-conditioned ones fall back to dgesdd.
 */
class GramSpectrumTest {
    @TempDir
    static Path dir;
    static JsonNode cases;

    @BeforeAll
    static void plant() throws IOException {
        Python.require("numpy");
        cases = new ObjectMapper().readTree(Python.script(Python.testScript("gram_planted.py"), dir.toString()));
    }

    static double[] matrix(String name) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name + ".f64"))).order(ByteOrder.LITTLE_ENDIAN);
        double[] a = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(a);
        return a;
    }

    static GramSpectrum.Result auto(String name) throws IOException {
        JsonNode c = cases.get(name);
        return GramSpectrum.auto(matrix(name), c.get("rows").asInt(), c.get("cols").asInt());
    }

    static double[] numpy(String name) {
        JsonNode sv = cases.get(name).get("sv");
        double[] out = new double[sv.size()];
        for (int i = 0; i < out.length; i++) out[i] = sv.get(i).asDouble();
        return out;
    }

    /** Every value within 1e-8 relative of numpy's gesdd (the contract where the route is certified). */
    static void assertRelative(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": count");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * expected[i], what + ": σ" + i);
        }
    }

    @Test
    void gaussianMatricesTakeTheGramRouteAndMatchNumpy() throws IOException {
        for (String name : new String[] {"gauss_tall", "gauss_wide"}) {
            GramSpectrum.Result r = auto(name);
            assertEquals(GramSpectrum.Route.GRAM, r.route(), name);
            assertTrue(r.relErrorEstimate() < 1e-13, name + ": well conditioned, estimate " + r.relErrorEstimate());
            assertRelative(numpy(name), r.singularValues(), 1e-8, name);
        }
    }

    @Test
    void plantedConditionNearTheThresholdIsCertifiedAndHoldsItsDigits() throws IOException {
        GramSpectrum.Result r = auto("planted_cond_1e3.5");
        assertEquals(GramSpectrum.Route.GRAM, r.route());
        // σ₁²/σ_min² = 1e7 planted: estimate ε·1e7
        assertEquals(Math.ulp(1.0) * 1e7, r.relErrorEstimate(), 1e-3 * Math.ulp(1.0) * 1e7);
        double[] np = numpy("planted_cond_1e3.5");
        assertRelative(np, r.singularValues(), 1e-8, "planted 1e3.5");
        // and the estimate is honest: the worst observed error is below it
        double worst = 0;
        for (int i = 0; i < np.length; i++) worst = Math.max(worst, Math.abs(r.singularValues()[i] - np[i]) / np[i]);
        assertTrue(worst <= r.relErrorEstimate(), "worst " + worst + " vs estimate " + r.relErrorEstimate());
    }

    @Test
    void illConditionedMatricesFallBackToGesdd() throws IOException {
        for (String name : new String[] {"planted_cond_1e6", "rank_20"}) {
            GramSpectrum.Result r = auto(name);
            assertEquals(GramSpectrum.Route.GESDD_FALLBACK, r.route(), name);
            assertTrue(r.gramEstimate() > GramSpectrum.TOLERANCE, name + ": Gram estimate " + r.gramEstimate());
            // dgesdd is accurate to ε·σ₁ absolutely: compare as numpy's own gesdd, 1e-12 of σ₁
            double[] np = numpy(name);
            for (int i = 0; i < np.length; i++) assertEquals(np[i], r.singularValues()[i], 1e-12 * np[0], name + ": σ" + i);
        }
        // on the planted 1e6 one the Gram values really are wrong past the certificate: σ_min off by more than 1e-8
        double[] gram = GramSpectrum.fromGram(matrix("planted_cond_1e6"), 300, 120), np = numpy("planted_cond_1e6");
        assertTrue(Math.abs(gram[119] - np[119]) / np[119] > 1e-8, "uncertified σ_min " + gram[119] + " vs " + np[119]);
    }

    @Test
    void exactIsGesddAlways() throws IOException {
        GramSpectrum.Result r = GramSpectrum.exact(matrix("gauss_tall"), 600, 200);
        assertEquals(GramSpectrum.Route.GESDD, r.route());
        assertTrue(Double.isNaN(r.gramEstimate()));
        double[] np = numpy("gauss_tall");
        for (int i = 0; i < np.length; i++) assertEquals(np[i], r.singularValues()[i], 1e-12 * np[0], "σ" + i);
    }

    /**
     * Both eigenvalue routines (dsyev below order 896, dsyevd_2stage from it): Gaussian matrices just either side of the
     * switch give LAPACK dgesdd's singular values to 1e-10 relative (their σ₁²/σ_min² is about 10³ and 2·10³, so the
     * Gram route's bound ε·σ₁²/σᵢ² is under 1e-12).
     */
    @Test
    void eitherEigenvalueRoutineAgreesWithGesddAcrossTheSwitch() {
        java.util.Random r = new java.util.Random(3);
        for (int[] shape : new int[][] {{1400, GramSpectrum.TWO_STAGE_FROM - 1}, {GramSpectrum.TWO_STAGE_FROM, 1500}}) {
            double[] a = new double[shape[0] * shape[1]];
            for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
            double[] gram = GramSpectrum.fromGram(a, shape[0], shape[1]);
            double[] svd = GramSpectrum.exact(a, shape[0], shape[1]).singularValues();
            assertEquals(Math.min(shape[0], shape[1]), gram.length);
            assertRelative(svd, gram, 1e-10, GramSpectrum.eigenRoutine(Math.min(shape[0], shape[1])) + " at " + shape[0] + "x" + shape[1]);
        }
        assertEquals("dsyev", GramSpectrum.eigenRoutine(GramSpectrum.TWO_STAGE_FROM - 1));
        assertEquals("dsyevd_2stage", GramSpectrum.eigenRoutine(GramSpectrum.TWO_STAGE_FROM));
    }
}
