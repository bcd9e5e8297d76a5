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
import java.util.Iterator;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Marchenko–Pastur fit and correlation traps on planted truth (issue #20's "Must show"), each value also checked
 * against rmt_reference.py (numpy SVD, scipy quad + brentq for the MP median, np.histogram for the log bins).
 */
class RandomMatrixTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The median lies inside the support and the integrated density has total mass 1 (Simpson in the angle). */
    @Test
    void medianOfTheLawIsItsHalfMass() {
        for (double g : new double[] {0.05, 0.25, 0.5, 1.0}) {
            double med = MarchenkoPastur.median(g);
            double a = Math.pow(1 - Math.sqrt(g), 2), b = Math.pow(1 + Math.sqrt(g), 2);
            assertTrue(med > a && med < b, "median inside the support for γ=" + g);
            assertEquals(1.0, MarchenkoPastur.cdfAtAngle(g, Math.PI), 1e-9, "total mass 1 for γ=" + g);
        }
        // scipy quad + brentq in x = a + (b − a)u² (a different substitution); γ = 1 is Gavish–Donoho's μ ≈ 0.6528
        assertEquals(0.6527759416335703, MarchenkoPastur.median(1.0), 1e-9, "square matrices (1/√x pole at 0)");
        assertEquals(0.916004070686612, MarchenkoPastur.median(0.25), 1e-9);
    }

    @Test
    void plantedSpikesAndTrapsMatchNumpy(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "scipy");
        Python.script(Python.testScript("rmt_reference.py"), "make", tmp.toString());
        JsonNode cases = JSON.readTree(tmp.resolve("cases.json").toFile());
        Map<String, double[]> rand = new java.util.HashMap<>();
        Map<String, MarchenkoPastur> fits = new java.util.HashMap<>();
        Map<String, CorrelationTraps> traps = new java.util.HashMap<>();
        for (Iterator<String> it = cases.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            int rows = cases.get(name).get("rows").asInt(), cols = cases.get(name).get("cols").asInt();
            double[] a = read(tmp.resolve(name + ".bin"), rows * cols);
            double[] p = CorrelationTraps.permuted(a, CorrelationTraps.seedFor(0, name));
            assertEquals(p.length, a.length);
            write(tmp.resolve(name + ".perm.bin"), p);
            double[] sv = Lapack.singularValues(a, rows, cols), svp = Lapack.singularValues(p, rows, cols);
            fits.put(name, MarchenkoPastur.fit(sv, rows, cols));
            traps.put(name, CorrelationTraps.of(sv, svp, rows, cols));
            rand.put(name, svp);
        }
        // the permutation is reproducible from (seed, name) and changes with either
        double[] g = read(tmp.resolve("gauss.bin"), 1000 * 500);
        assertTrue(java.util.Arrays.equals(CorrelationTraps.permuted(g, CorrelationTraps.seedFor(0, "gauss")),
                CorrelationTraps.permuted(g, CorrelationTraps.seedFor(0, "gauss"))));
        assertNotEquals(CorrelationTraps.seedFor(0, "gauss"), CorrelationTraps.seedFor(1, "gauss"));
        assertNotEquals(CorrelationTraps.seedFor(0, "gauss"), CorrelationTraps.seedFor(0, "gauss2"));

        // planted truth
        MarchenkoPastur gauss = fits.get("gauss");
        assertEquals(0, gauss.numSpikes(), "iid N(0,1): no spikes");
        assertEquals(1.0, gauss.sigma2(), 0.05, "iid N(0,1): σ² = 1");
        assertEquals(1000 * Math.pow(1 + Math.sqrt(0.5), 2), gauss.lambdaPlus(), 0.03 * 2914, "λ+ = N(1 + √(M/N))² (3%)");
        assertEquals(2.0, gauss.q(), 0.0);
        assertEquals(3, fits.get("signal3").numSpikes(), "U diag(300, 200, 150) Vᵀ: 3 spikes");
        assertEquals(4, fits.get("signal4_wide").numSpikes(), "rank 4 at 1.8-3x the BBP threshold, rows < cols: 4 spikes");
        assertEquals(1, fits.get("trapped").numSpikes(), "five huge elements in one row: one spike");
        assertEquals(0, traps.get("gauss").traps(), "no traps in a Gaussian matrix");
        assertEquals(0, traps.get("signal3").traps(), "a low-rank signal spreads over all elements: no traps");
        assertEquals(5, traps.get("trapped").traps(), "five huge elements, shuffled apart: five traps");
        assertTrue(traps.get("trapped").largest() > 30000, "trap ≈ 200² = 40000: " + traps.get("trapped").largest());
        assertTrue(Double.isNaN(traps.get("gauss").largest()));
        double clean = traps.get("gauss").randDistance(), trapped = traps.get("trapped").randDistance();
        assertTrue(trapped > 3 * clean, "rand_distance trapped " + trapped + " > 3 x clean " + clean);
        assertTrue(traps.get("signal3").randDistance() <= Math.sqrt(Math.log(2)));

        // every value against numpy
        JsonNode ref = JSON.readTree(Python.script(Python.testScript("rmt_reference.py"), "check", tmp.toString()));
        for (Iterator<String> it = cases.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            JsonNode r = ref.get(name);
            int rows = cases.get(name).get("rows").asInt(), cols = cases.get(name).get("cols").asInt();
            assertEquals(r.get("mp_median").asDouble(), MarchenkoPastur.median((double) Math.min(rows, cols) / Math.max(rows, cols)), 1e-9, name + " MP median");
            same(r.get("mp"), fits.get(name), name);
            same(r.get("rand"), traps.get(name).randomFit(), name + " permuted");
            assertEquals(r.get("rand").get("num_spikes").asInt(), traps.get(name).traps(), name + " traps");
            if (traps.get(name).traps() > 0) assertEquals(r.get("rand").get("largest").asDouble(), traps.get(name).largest(), 1e-9 * traps.get(name).largest(), name);
            assertEquals(r.get("rand_distance").asDouble(), traps.get(name).randDistance(), 1e-9, name + " rand_distance");
        }
    }

    private static void same(JsonNode r, MarchenkoPastur f, String what) {
        double tol = 1e-8; // relative: the MP median by Simpson's rule vs scipy's adaptive quad
        assertEquals(r.get("sigma2").asDouble(), f.sigma2(), tol * f.sigma2(), what + " σ²");
        assertEquals(r.get("lambda_plus").asDouble(), f.lambdaPlus(), tol * f.lambdaPlus(), what + " λ+");
        assertEquals(r.get("lambda_minus").asDouble(), f.lambdaMinus(), tol * f.lambdaPlus(), what + " λ-");
        assertEquals(r.get("threshold").asDouble(), f.threshold(), tol * f.threshold(), what + " TW threshold");
        assertEquals(r.get("num_spikes").asInt(), f.numSpikes(), what + " spikes");
        assertEquals(r.get("softrank").asDouble(), f.softRank(), tol * f.softRank(), what + " softrank");
        assertEquals(r.get("spike_mass").asDouble(), f.spikeMass(), 1e-10, what + " spike mass");
    }

    static double[] read(Path p, int n) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        double[] a = new double[n];
        b.asDoubleBuffer().get(a);
        return a;
    }

    static void write(Path p, double[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(a.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(a);
        Files.write(p, b.array());
    }
}
