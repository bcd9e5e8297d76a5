package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recipe parsing: what is accepted as mergekit writes it, and every unsupported feature refused by name. */
class MergeRecipeTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static MergeRecipe parse(String json) throws Exception {
        return MergeRecipe.parse(JSON.readTree(json.replace('\'', '"')), "r.yaml");
    }

    static String refused(String json) {
        return assertThrows(UsageException.class, () -> {
            MergeRecipe r = parse(json);
            new MergePlanner(r, 0);
        }).getMessage();
    }

    @Test
    void acceptsModelsAndOneFullSlice() throws Exception {
        MergeRecipe r = parse("{'merge_method': 'ties', 'base_model': 'b', 'dtype': 'bfloat16', 'out_dtype': 'float32',"
                + "'models': [{'model': 'b'}, {'model': 'x', 'parameters': {'weight': 1, 'density': [1, 0.5]}}]}");
        assertEquals(DType.BF16, r.dtype());
        assertEquals(DType.F32, r.outDType());
        MergePlanner p = new MergePlanner(r, 0);
        assertEquals(1, p.inputs().size()); // the listed base is not an input of a task-vector method
        MergeRecipe s = parse("{'merge_method': 'slerp', 'base_model': 'b', 'parameters': {'t': 0.5},"
                + "'slices': [{'sources': [{'model': 'b', 'layer_range': [0, 4]}, {'model': 'x', 'layer_range': [0, 4]}]}]}");
        MergePlanner ps = new MergePlanner(s, 0);
        ps.checkLayerRanges(4);
        assertTrue(assertThrows(UsageException.class, () -> ps.checkLayerRanges(5)).getMessage().contains("layer_range [0, 4]"));
    }

    @Test
    void unsupportedFeaturesAreRefusedByName() {
        String base = "'merge_method': 'ties', 'base_model': 'b', 'models': [{'model': 'x', 'parameters': {'weight': 1}}]";
        assertTrue(refused("{" + base + ", 'modules': {}}").contains("'modules' is not supported"));
        assertTrue(refused("{" + base + ", 'tokenizer': {'source': 'union'}}").contains("tokenizer surgery"));
        assertTrue(refused("{'merge_method': 'ties', 'base_model': 'b', 'models': [{'model': 'x+lora'}]}").contains("model+lora"));
        assertTrue(refused("{'merge_method': 'linear', 'slices': [{'sources': [{'model': 'a', 'layer_range': [0, 2]}]},"
                + "{'sources': [{'model': 'a', 'layer_range': [1, 3]}]}]}").contains("only one slice"));
        assertTrue(refused("{" + base + ", 'dtype': 'int8'}").contains("dtype 'int8'"));
        assertTrue(refused("{'merge_method': 'ties', 'models': [{'model': 'x', 'parameters': {'weight': 1}}]}").contains("needs 'base_model'"));
        assertTrue(refused("{'merge_method': 'ties', 'base_model': 'b', 'models': [{'model': 'x', 'parameters': {'weight': 1, 'lambda': 2}}]}")
                .contains("'lambda' of ties is a global parameter"));
        assertTrue(refused("{'merge_method': 'slerp', 'base_model': 'b', 'parameters': {'t': 0.5}, 'models': [{'model': 'x'}, {'model': 'y'}]}")
                .contains("exactly 1 other model"));
        assertTrue(refused("{'merge_method': 'arcee_fusion', 'models': [{'model': 'x'}]}").contains("unknown merge method 'arcee_fusion'"));
        assertTrue(refused("{'merge_method': 'tie', 'base_model': 'b', 'models': [{'model': 'x'}]}").contains("did you mean 'ties'"));
        assertTrue(refused("{" + base + ", 'tokenizer_source': 'union'}").contains("tokenizer_source 'union' is not supported"));
        assertTrue(refused("{'merge_method': 'ties', 'base_model': 'b', 'models': [{'model': 'x', 'parameters': {'weight': 1, 'densty': 0.5}}]}")
                .contains("unknown parameter 'densty' for ties (did you mean 'density'?)"));
        assertTrue(refused("{'merge_method': 'ties', 'base_model': 'b', 'models': [{'model': 'x', 'paramters': {'weight': 1}}]}")
                .contains("unknown key 'paramters' in a models entry (did you mean 'parameters'?)"));
    }
}
