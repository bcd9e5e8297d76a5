package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Grid files of merge --screen (YAML read as a tree; JSON here, as common has no YAML parser): the cartesian product
 * with its names, the candidate list, and every mistake refused by name.
 */
class ScreenGridTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static List<ScreenGrid.Candidate> parse(String json) throws Exception {
        return ScreenGrid.parse(JSON.readTree(json.replace('\'', '"')), "g.yaml");
    }

    static String refused(String json) {
        return assertThrows(UsageException.class, () -> {
            for (ScreenGrid.Candidate c : parse(json)) new MergePlanner(c.recipe(), 0);
        }).getMessage();
    }

    /** A ties recipe (a JSON object's members, without braces) whose second model is given as a bare reference. */
    static final String TIES = "'merge_method': 'ties', 'base_model': 'b', 'models': [{'model': 'x', 'parameters': {'weight': 1}}, 'y'], 'parameters': {'density': 0.5}";

    static String grid(String grid) {
        return "{" + TIES + ", 'grid': " + grid + "}";
    }

    @Test
    void aGridIsTheCartesianProductFirstKeySlowest() throws Exception {
        List<ScreenGrid.Candidate> cs = parse(grid("{'merge_method': ['ties', 'dare_ties'], 'parameters.density': [0.3, 0.6, 0.9], 'models[1].parameters.weight': [0.5, 2]}"));
        assertEquals(12, cs.size());
        assertEquals("grid_method=ties_density=0.3_m1.weight=0.5", cs.get(0).name());
        assertEquals("grid_method=ties_density=0.3_m1.weight=2", cs.get(1).name());
        assertEquals("grid_method=ties_density=0.6_m1.weight=0.5", cs.get(2).name());
        assertEquals("grid_method=dare_ties_density=0.9_m1.weight=2", cs.get(11).name());
        ScreenGrid.Candidate last = cs.get(11);
        assertEquals("dare_ties", last.recipe().method());
        assertEquals(0.9, last.recipe().parameters().get("density").asDouble(), 0.0);
        // 'y' became {model: y, parameters: {weight: 2}}; model 0 kept its own parameters
        assertEquals("y", last.recipe().models().get(1).uri());
        assertEquals(2.0, last.recipe().models().get(1).parameters().get("weight").asDouble(), 0.0);
        assertEquals(1.0, last.recipe().models().get(0).parameters().get("weight").asDouble(), 0.0);
        assertEquals(last.name(), last.tree().get("name").asText(), "the tree records its generated name");
        // each candidate has its own copy: candidate 0 has weight 0.5, candidate 1 weight 2
        assertEquals(0.5, cs.get(0).recipe().models().get(1).parameters().get("weight").asDouble(), 0.0);
        // a named recipe prefixes its candidates; a gradient list is a value like any other
        List<ScreenGrid.Candidate> g = parse("{'name': 'sweep', " + TIES + ", 'grid': {'density': [[1, 0.5], 0.7]}}");
        assertEquals(List.of("sweep_density=[1,0.5]", "sweep_density=0.7"), g.stream().map(ScreenGrid.Candidate::name).toList());
    }

    @Test
    void aListNamesItsCandidates() throws Exception {
        List<ScreenGrid.Candidate> cs = parse("{'candidates': [{'name': 'a', " + TIES + "}, {'merge_method': 'linear', 'models': ['x', 'y']}]}");
        assertEquals(List.of("a", "candidate-2"), cs.stream().map(ScreenGrid.Candidate::name).toList());
        assertEquals("linear", cs.get(1).recipe().method());
    }

    @Test
    void mistakesAreRefusedNamingTheCandidateAndKey() {
        assertTrue(refused(grid("{'densty': [0.5]}")).contains("g.yaml: candidate 'grid_densty=0.5': parameters: unknown parameter 'densty' for ties"));
        assertTrue(refused(grid("{'models[2].parameters.weight': [1]}")).contains("the recipe has 2 entries under 'models'"));
        assertTrue(refused(grid("{'models.0.weight': [1]}")).contains("unknown grid key 'models.0.weight'"));
        assertTrue(refused(grid("{'base_model': ['a']}")).contains("unknown grid key 'base_model'"));
        assertTrue(refused(grid("{'density': 0.5}")).contains("grid key 'density' needs a non-empty list"));
        assertTrue(refused(grid("[]")).contains("'grid' must be a non-empty mapping"));
        assertTrue(refused("{" + TIES + "}").contains("needs 'candidates:'"));
        assertTrue(refused("{'candidates': {'a': 1}}").contains("'candidates' must be a non-empty list"));
        assertTrue(refused("{'candidates': [{'name': 'a', " + TIES + "}, {'name': 'a', " + TIES + "}]}").contains("two candidates are named 'a'"));
        assertTrue(refused("{'candidates': [{'name': 'a/b', " + TIES + "}]}").contains("without '/'"));
        assertTrue(refused("{'candidates': [{" + TIES + "}], 'grid': {'density': [1]}}").contains("unknown key 'grid' beside 'candidates'"));
        assertTrue(refused(grid("{'density': [" + "0.5, ".repeat(101) + "0.5], 'weight': [" + "1, ".repeat(99) + "1]}")).contains("more than 10000"));
        assertTrue(refused("{'merge_method': 'passthrough', 'slices': [{'sources': [{'model': 'a', 'layer_range': [0, 2]}]}], 'grid': {'scale': [1]}}")
                .contains("not screened"));
    }
}
