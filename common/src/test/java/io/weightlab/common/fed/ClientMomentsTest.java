package io.weightlab.common.fed;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.RangeReader;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.weightlab.common.fed.FedClientFiles.manifest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The validation pass's per-client moments, update norms, NaN/Inf counts and outlier rule (rules FiniteValues,
 * OutlierUpdate) against numpy on the clients of fed_clients.py; slices merged in any order give the whole.
 */
class ClientMomentsTest {
    static final Configuration CONF = new Configuration();
    static final List<String> GOOD = List.of("good0", "good1", "good2", "good3", "good4");

    static List<Checkpoint> open(List<String> ids) {
        List<Checkpoint> out = new ArrayList<>();
        for (String id : ids) out.add(CheckpointCatalog.open(CONF, FedClientFiles.uri(id)));
        return out;
    }

    /** w (12 elements) in two slices merged back to front, b whole: what the job's units do. */
    static Map<String, ClientMoments> pass(List<Checkpoint> clients, Checkpoint ref, boolean full) {
        Map<String, ClientMoments> out = new TreeMap<>();
        try (RangeReader r = new RangeReader(CONF)) {
            ClientMoments tail = ClientMoments.read(r, "w", 5, 7, clients, ref, full);
            out.put("w", tail.merge(ClientMoments.read(r, "w", 0, 5, clients, ref, full)));
            out.put("b", ClientMoments.read(r, "b", 0, 3, clients, ref, full));
        }
        return out;
    }

    static void close(double expected, double actual, String what) {
        assertEquals(expected, actual, 1e-12 * Math.max(1, Math.abs(expected)), what);
    }

    @Test
    void momentsAndUpdateNormsMatchNumpy() {
        JsonNode np = FedClientFiles.numpy();
        Checkpoint ref = CheckpointCatalog.open(CONF, FedClientFiles.uri("reference"));
        Map<String, ClientMoments> byTensor = pass(open(GOOD), ref, true);
        double[] norms = ClientMoments.updateNorms(byTensor, GOOD.size());
        for (int k = 0; k < GOOD.size(); k++) {
            JsonNode c = np.path("clients").path(GOOD.get(k));
            close(c.path("var_w").asDouble(), byTensor.get("w").moments(k).varianceSample(), GOOD.get(k) + " var(w)");
            close(c.path("var_b").asDouble(), byTensor.get("b").moments(k).varianceSample(), GOOD.get(k) + " var(b)");
            close(c.path("update_norm").asDouble(), norms[k], GOOD.get(k) + " update norm");
            assertEquals(0, byTensor.get("w").nonFinite(k));
        }
        close(np.path("ref_var_w").asDouble(), byTensor.get("w").reference().varianceSample(), "reference var(w)");
    }

    @Test
    void withoutFullMomentsOnlyCountsAndNorms() {
        Checkpoint ref = CheckpointCatalog.open(CONF, FedClientFiles.uri("reference"));
        Map<String, ClientMoments> byTensor = pass(open(GOOD), ref, false);
        assertTrue(byTensor.get("w").moments(0).isEmpty());
        assertNull(byTensor.get("w").reference());
        close(FedClientFiles.numpy().path("clients").path("good3").path("update_norm").asDouble(),
                ClientMoments.updateNorms(byTensor, GOOD.size())[3], "good3 update norm");
        Map<String, ClientMoments> noRef = pass(open(GOOD), null, false);
        assertEquals(0.0, ClientMoments.updateNorms(noRef, GOOD.size())[3]);
    }

    @Test
    void finiteValues() {
        List<String> ids = List.of("good0", "nan");
        List<Checkpoint> clients = open(ids);
        for (boolean full : new boolean[] {true, false}) {
            Map<String, ClientMoments> byTensor = pass(clients, null, full);
            assertEquals(2, byTensor.get("w").nonFinite(1), "one NaN and one Inf");
            ClientValidation v = new ClientValidation(manifest(false, "good0", "nan"), ClientValidationTest.DROP);
            v.rejectNonFinite(ids, clients, byTensor);
            assertEquals(List.of("good0"), v.survivors(ids));
            assertEquals("'w' holds 2 NaN/Inf value(s) in " + clients.get(1).root() + " (rule: FiniteValues)", v.problems().get("nan"));
        }
        try (RangeReader r = new RangeReader(CONF)) {
            assertNull(ClientMoments.nonFiniteProblem(r, clients.get(0)));
            assertEquals("'w' holds 2 NaN/Inf value(s) in " + clients.get(1).root() + " (rule: FiniteValues)", ClientMoments.nonFiniteProblem(r, clients.get(1)));
        }
    }

    @Test
    void outlierUpdateRejectsWhatNumpysRuleRejects() {
        Checkpoint ref = CheckpointCatalog.open(CONF, FedClientFiles.uri("reference"));
        double[] norms = ClientMoments.updateNorms(pass(open(GOOD), ref, false), GOOD.size());
        ClientValidation v = new ClientValidation(manifest(true, GOOD.toArray(String[]::new)), ClientValidationTest.DROP);
        v.rejectOutliers(GOOD, norms, new RobustPolicy(3.0, null));
        List<String> expected = new ArrayList<>();
        FedClientFiles.numpy().path("outliers_z3").forEach(n -> expected.add(n.asText()));
        assertEquals(List.of("good4"), expected, "the fixture's outlier");
        assertEquals(expected, new ArrayList<>(v.problems().keySet()));
        assertTrue(v.problems().get("good4").contains("is an outlier") && v.problems().get("good4").endsWith("rule: OutlierUpdate)"), v.problems().toString());

        // Already rejected clients take no part in the median: without good4, norms .044 .065 .055 .107 give median .060
        // and 1.4826 MAD .015 (by hand), so good3 (.107 > .105) is now the outlier. Without --reject-outliers nobody is.
        ClientValidation pre = new ClientValidation(manifest(true, GOOD.toArray(String[]::new)), ClientValidationTest.DROP);
        pre.reject("good4", "unreadable");
        pre.rejectOutliers(GOOD, norms, new RobustPolicy(3.0, null));
        assertEquals(List.of("good4", "good3"), new ArrayList<>(pre.problems().keySet()));
        assertEquals("unreadable", pre.problems().get("good4"));
        assertTrue(pre.problems().get("good3").startsWith("update norm 0.107123 is an outlier"), pre.problems().toString());
        ClientValidation off = new ClientValidation(manifest(true, GOOD.toArray(String[]::new)), ClientValidationTest.DROP);
        off.rejectOutliers(GOOD, norms, new RobustPolicy(null, null));
        assertTrue(off.problems().isEmpty());
    }

    /**
     * The one-read pass's piecewise add: the fast path (four partial sums, no per-element test) and the filtered path
     * it falls back to when the sum is not finite give the definition's count and Σ over finite (x − r)²: a NaN, an
     * Inf and a finite pair whose difference overflows; pieces of 3 and 7 add up to the whole. Tolerance 1e-15
     * relative (another summation order over ten terms).
     */
    @Test
    void piecewiseAddCountsNonFiniteAndSumsFiniteDifferences() {
        double[] x = {1, 2, Double.NaN, 4, 1e308, 6, Double.POSITIVE_INFINITY, 8, 9, 10};
        double[] r = {0.5, 1, 1, 1, -1e308, 1, 1, 1, 1, 1};
        double expected = 0;
        long bad = 0;
        for (int i = 0; i < x.length; i++) {
            double d = x[i] - r[i];
            if (Double.isFinite(d)) expected += d * d;
            if (!Double.isFinite(x[i])) bad++;
        }
        ClientMoments whole = new ClientMoments(1), pieces = new ClientMoments(1);
        whole.add(0, x, x.length, r, false);
        pieces.add(0, java.util.Arrays.copyOfRange(x, 0, 3), 3, java.util.Arrays.copyOfRange(r, 0, 3), false);
        pieces.add(0, java.util.Arrays.copyOfRange(x, 3, 10), 7, java.util.Arrays.copyOfRange(r, 3, 10), false);
        for (ClientMoments cm : List.of(whole, pieces)) {
            assertEquals(2, cm.nonFinite(0), "NaN and +Inf; 1e308 is finite");
            assertEquals(expected, cm.updateSq(0), 1e-15 * expected);
        }
        double[] finite = {1, 2, 3, 4, 5};
        ClientMoments fast = new ClientMoments(1);
        fast.add(0, finite, 5, new double[5], false);
        assertEquals(0, fast.nonFinite(0));
        assertEquals(55.0, fast.updateSq(0), 0.0, "1+4+9+16+25, exact");
        ClientMoments noRef = new ClientMoments(1);
        noRef.add(0, x, x.length, null, false);
        assertEquals(2, noRef.nonFinite(0), "without a reference: the bit probe finds them");
    }
}
