package io.weightlab.common.fed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.weightlab.common.fed.FedClientFiles.manifest;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every typed client rule of a round on small clients written by the reference safetensors library (fed_clients.py). */
class ClientValidationTest {
    static final Configuration CONF = new Configuration();
    static final ClientValidation.Policy DROP = new ClientValidation.Policy(BadClients.DROP, 1, 0);

    static ClientValidation validation(RoundManifest m, ClientValidation.Policy policy) {
        return new ClientValidation(m, policy);
    }

    static Checkpoint reference() {
        return CheckpointCatalog.open(CONF, FedClientFiles.uri("reference"));
    }

    static String reason(ClientValidation v, String id) {
        String why = v.problems().get(id);
        assertTrue(why != null, id + " is rejected: " + v.problems());
        return why;
    }

    @Test
    void matchingClientsAllPass() {
        ClientValidation v = validation(manifest(true, "good0", "good1", "good2"), DROP);
        ClientSet set = ClientSet.open(CONF, reference(), true, v);
        assertEquals(List.of("good0", "good1", "good2"), set.ids());
        assertTrue(v.problems().isEmpty(), v.problems().toString());
        v.decide(3, "before reading values");
    }

    @Test
    void sameTensorsSameShapesSameDtypeKind() {
        ClientValidation v = validation(manifest(true, "good0", "extra", "renamed", "shape", "intb"), DROP);
        ClientSet set = ClientSet.open(CONF, reference(), true, v);
        assertEquals(List.of("good0"), set.ids(), "only the matching client stays");
        assertEquals("has 4 tensors, the template 3 (rule: SameTensors)", reason(v, "extra"));
        assertEquals("lacks 'w' (rule: SameTensors)", reason(v, "renamed"));
        assertEquals("'w' is [3, 4], the template's [4, 3] (rule: SameShapes)", reason(v, "shape"));
        assertTrue(reason(v, "intb").startsWith("'b' is I32, the template's F32") && reason(v, "intb").endsWith("(rule: SameDtypeKind)"), reason(v, "intb"));
    }

    @Test
    void withoutReferenceTheFirstReadableClientIsTheTemplate() {
        ClientValidation v = validation(manifest(false, "missing", "shape", "good0"), DROP);
        ClientSet set = ClientSet.open(CONF, null, true, v);
        assertEquals(List.of("shape"), set.ids());
        assertTrue(reason(v, "missing").startsWith("unreadable: "), reason(v, "missing"));
        assertEquals("'w' is [4, 3], the template's [3, 4] (rule: SameShapes)", reason(v, "good0"));
    }

    @Test
    void noReadableClientIsAnError() {
        ClientValidation v = validation(manifest(false, "missing"), DROP);
        UsageException e = assertThrows(UsageException.class, () -> ClientSet.open(CONF, null, true, v));
        assertTrue(e.getMessage().contains("no readable client") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void positiveExamplesOnlyWhenWeightingByExamples() {
        ClientValidation byExamples = validation(manifest(true, "good0", "good1:0"), DROP);
        ClientSet set = ClientSet.open(CONF, reference(), true, byExamples);
        assertEquals(List.of("good0"), set.ids());
        assertEquals("examples must be > 0, got 0 (rule: PositiveExamples)", reason(byExamples, "good1"));

        ClientValidation uniform = validation(manifest(true, "good0", "good1:0"), DROP);
        assertEquals(List.of("good0", "good1"), ClientSet.open(CONF, reference(), false, uniform).ids());
        assertTrue(uniform.problems().isEmpty());
    }

    @Test
    void failPolicyFailsWithEveryReason() {
        ClientValidation v = validation(manifest(true, "good0", "shape", "extra"), new ClientValidation.Policy(BadClients.FAIL, 1, 0));
        ClientSet.open(CONF, reference(), true, v);
        UsageException e = assertThrows(UsageException.class, () -> v.decide(1, "before reading values"));
        assertTrue(e.getMessage().startsWith("test-manifest: the round fails before reading values (--bad-clients fail):"), e.getMessage());
        assertTrue(e.getMessage().contains("client 'shape'") && e.getMessage().contains("client 'extra'"), e.getMessage());
    }

    @Test
    void minClientsAndMinFraction() {
        RoundManifest m = manifest(true, "good0", "good1", "shape", "extra");
        ClientValidation byCount = validation(m, new ClientValidation.Policy(BadClients.DROP, 3, 0));
        ClientSet.open(CONF, reference(), true, byCount);
        UsageException e = assertThrows(UsageException.class, () -> byCount.decide(2, "before reading values"));
        assertTrue(e.getMessage().contains("only 2 of 4 clients remain before reading values") && e.getMessage().contains("rule: MinClients"), e.getMessage());

        ClientValidation byFraction = validation(m, new ClientValidation.Policy(BadClients.DROP, 1, 0.75));
        ClientSet.open(CONF, reference(), true, byFraction);
        assertThrows(UsageException.class, () -> byFraction.decide(2, "before reading values"));

        ClientValidation enough = validation(m, new ClientValidation.Policy(BadClients.DROP, 2, 0.5));
        ClientSet.open(CONF, reference(), true, enough);
        enough.decide(2, "before reading values");
        assertEquals(List.of("good0", "good1"), enough.survivors(List.of("good0", "good1", "shape", "extra")));
    }

    @Test
    void droppingWithoutProblemsNeverFails() {
        ClientValidation v = validation(manifest(true, "good0"), new ClientValidation.Policy(BadClients.DROP, 5, 1));
        v.decide(1, "after reading values");
    }

    @Test
    void aClientKeepsItsFirstReason() {
        ClientValidation v = validation(manifest(true, "good0"), DROP);
        v.reject("good0", "first");
        v.reject("good0", "second");
        assertEquals("first", reason(v, "good0"));
        assertFalse(v.isRejected("good1"));
    }

    @Test
    void uniqueClientIds() {
        ObjectNode root = FedClientFiles.JSON.createObjectNode();
        var list = root.putArray("clients");
        list.addObject().put("id", "a").put("uri", FedClientFiles.uri("good0"));
        list.addObject().put("id", "a").put("uri", FedClientFiles.uri("good1"));
        UsageException e = assertThrows(UsageException.class, () -> RoundManifest.fromTree("m.json", root));
        assertTrue(e.getMessage().contains("clients[1]") && e.getMessage().contains("rule: UniqueClientIds"), e.getMessage());
    }

    @Test
    void optionWordsAreCaseInsensitiveAndListTheChoices() {
        assertEquals(BadClients.DROP, BadClients.parse("drop"));
        assertEquals(BadClients.FAIL, BadClients.parse("FAIL"));
        assertEquals(Weighting.GIVEN, Weighting.parse("Given"));
        assertEquals("examples", Weighting.EXAMPLES.spelling());
        UsageException bad = assertThrows(UsageException.class, () -> BadClients.parse("skip"));
        assertEquals("--bad-clients must be one of [fail, drop], got 'skip'", bad.getMessage());
        UsageException w = assertThrows(UsageException.class, () -> Weighting.parse("size"));
        assertEquals("--weighting must be one of [examples, uniform, given], got 'size'", w.getMessage());
    }

    @Test
    void weightingGivesTheHandComputedShares() {
        List<ClientSpec> cs = List.of(new ClientSpec("a", "u", 10, 3.0), new ClientSpec("b", "u", 30, 1.0));
        assertArrayEquals(new double[] {0.25, 0.75}, Weighting.EXAMPLES.weights(cs), 0);
        assertArrayEquals(new double[] {0.5, 0.5}, Weighting.UNIFORM.weights(cs), 0);
        assertArrayEquals(new double[] {0.75, 0.25}, Weighting.GIVEN.weights(cs), 0);
    }
}
