package io.weightlab.common.merge;

import com.fasterxml.jackson.databind.JsonNode;
import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.method.MethodInfo;
import io.weightlab.common.method.Param;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The driver's side of a merge, headers only: which models are inputs and which is the base, that every input has
 * every tensor of the reference with the same shape and dtype, and every floating tensor's {@link TensorMerge} with
 * its parameters resolved by mergekit's precedence (the model's own parameters, then the top-level ones, then the
 * method's default; filters and gradients per tensor).
 */
public final class MergePlanner {
    private final MergeRecipe recipe;
    private final MergeMethod method;
    private final MethodInfo info;
    private final List<MergeRecipe.Model> inputs = new ArrayList<>();
    private final long seed;
    private final boolean usesBase;

    public MergePlanner(MergeRecipe recipe, long seed) {
        this.recipe = recipe;
        this.seed = seed;
        this.info = MergeRegistry.info(recipe.method());
        this.method = MergeRegistry.create(recipe.method());
        String src = recipe.source();
        this.usesBase = method.needsBase() || (method.acceptsBase() && recipe.baseModel() != null);
        if (method.needsBase() && recipe.baseModel() == null) throw new UsageException(src + ": " + info.name() + " needs 'base_model'");
        for (MergeRecipe.Model m : recipe.models()) {
            if (usesBase && m.uri().equals(recipe.baseModel())) {
                for (String k : m.parameters().keySet()) checkName(k, src + ": parameters of the base " + m.uri());
                continue;
            }
            inputs.add(m);
        }
        if (method.baseIsInput() && recipe.baseModel() != null && inputs.stream().noneMatch(m -> m.uri().equals(recipe.baseModel()))) {
            inputs.add(0, new MergeRecipe.Model(recipe.baseModel(), java.util.Map.of(), null));
        }
        if (inputs.isEmpty()) throw new UsageException(src + ": no model to merge besides the base");
        if (method.exactInputs() > 0 && inputs.size() != method.exactInputs()) {
            throw new UsageException(src + ": " + info.name() + " merges the base with exactly " + method.exactInputs() + " other model(s), got " + inputs.size());
        }
        for (String k : recipe.parameters().keySet()) checkName(k, src + ": parameters");
        for (MergeRecipe.Model m : inputs) {
            for (String k : m.parameters().keySet()) {
                checkName(k, src + ": parameters of " + m.uri());
                if (!method.perModelParams().contains(k)) {
                    throw new UsageException(src + ": '" + k + "' of " + info.name() + " is a global parameter: put it under the top-level 'parameters', not under model " + m.uri());
                }
            }
        }
    }

    private void checkName(String k, String where) {
        if (info.param(k) == null) {
            List<String> names = info.params().stream().map(Param::name).toList();
            throw new UsageException(where + ": unknown parameter '" + k + "' for " + info.name() + Suggestions.didYouMean(k, names)
                    + (names.isEmpty() ? "" : "; its parameters: " + String.join(", ", names)));
        }
    }

    public MergeMethod method() { return method; }

    /** Whether the base model takes part (required by the method, or optional and given). */
    public boolean usesBase() { return usesBase; }

    /** The models merged, in recipe order (the base excluded for methods that have one). */
    public List<MergeRecipe.Model> inputs() { return List.copyOf(inputs); }

    /** Tensor by tensor: every input has the reference's tensor with the same shape and dtype. */
    public static void checkSameTensors(Checkpoint reference, List<Checkpoint> others, List<String> uris) {
        for (TensorInfo t : reference.tensors()) {
            for (int i = 0; i < others.size(); i++) {
                TensorInfo o = others.get(i).tensor(t.name());
                if (o == null) {
                    throw new CheckpointFormatException(uris.get(i), t.name(), "SameTensors", "missing in this model (present in " + reference.root() + ")");
                }
                if (!java.util.Arrays.equals(o.shape(), t.shape())) {
                    throw new CheckpointFormatException(o.file(), t.name(), "SameShape", "shape " + o.shapeString() + " here, " + t.shapeString() + " in " + reference.root());
                }
                if (o.dtype() != t.dtype()) {
                    throw new CheckpointFormatException(o.file(), t.name(), "SameDType", "dtype " + o.dtype() + " here, " + t.dtype() + " in " + reference.root()
                            + " (give the models in one dtype)");
                }
            }
        }
    }

    /** A source's layer_range must span every layer (one slice over all layers is the same merge as models:). */
    public void checkLayerRanges(int layers) {
        for (MergeRecipe.Model m : recipe.models()) {
            int[] r = m.layerRange();
            if (r != null && (r[0] != 0 || r[1] != layers)) {
                throw new UsageException(recipe.source() + ": layer_range [" + r[0] + ", " + r[1] + "] of " + m.uri() + " is not [0, " + layers
                        + "]: only one slice over all layers is supported for " + info.name() + " (layer stacking is merge_method: passthrough)");
            }
        }
    }

    /** The number of blocks of the stack: one more than the largest layer index in the tensor names. */
    public static int layerCount(List<TensorInfo> tensors) {
        int max = -1;
        for (TensorInfo t : tensors) {
            TensorName n = TensorName.parse(t.name());
            if (n.stack() != null && n.layer() != null) max = Math.max(max, n.layer());
        }
        return max + 1;
    }

    /** The merge of one floating tensor, its parameters resolved for it. */
    public TensorMerge plan(TensorInfo t, int layers) {
        TensorName name = TensorName.parse(t.name());
        double pos = RecipeValue.layerPosition(name.stack() != null ? name.layer() : null, layers);
        String src = recipe.source();
        Map<String, double[]> perModel = new LinkedHashMap<>();
        Map<String, String> check = new LinkedHashMap<>();
        for (String p : method.perModelParams()) {
            double[] v = new double[inputs.size()];
            for (int i = 0; i < inputs.size(); i++) {
                MergeRecipe.Model m = inputs.get(i);
                String where = src + ": parameter " + p + " of " + m.uri() + " for tensor '" + t.name() + "'";
                String s = RecipeValue.resolve(m.parameters().get(p), t.name(), pos, where);
                if (s == null) s = RecipeValue.resolve(recipe.parameters().get(p), t.name(), pos, where);
                if (s == null) s = info.param(p).defaultValue();
                if (s == null) throw new UsageException(src + ": model " + m.uri() + " has no '" + p + "' for tensor '" + t.name() + "' (" + info.name() + " requires it)");
                v[i] = value(p, s, where);
            }
            perModel.put(p, v);
        }
        Map<String, Double> global = new LinkedHashMap<>();
        for (Param p : info.params()) {
            if (method.perModelParams().contains(p.name())) continue;
            String where = src + ": parameter " + p.name() + " for tensor '" + t.name() + "'";
            String s = RecipeValue.resolve(recipe.parameters().get(p.name()), t.name(), pos, where);
            if (s == null) s = p.defaultValue();
            if (s == null) throw new UsageException(src + ": '" + p.name() + "' is required by " + info.name() + " (none given for tensor '" + t.name() + "')");
            global.put(p.name(), value(p.name(), s, where));
        }
        TensorMerge tm = new TensorMerge(t.name(), t.shape(), method, info.name(), inputs.size(), perModel, global, seed);
        try {
            method.check(tm, inputs.stream().map(MergeRecipe.Model::uri).toList());
        } catch (UsageException e) {
            throw new UsageException(src + ": " + e.getMessage());
        }
        if (info.name().equals("linear") && tm.flag("normalize")) {
            double s = 0;
            for (double w : tm.model("weight")) s += w;
            if (s == 0) throw new UsageException(src + ": the weights sum to 0 for tensor '" + t.name() + "' and normalize divides by their sum (set normalize: false or change a weight)");
        }
        return tm;
    }

    /** A resolved value, checked against the method's declaration (type, range), as a double (flags 1/0). */
    private double value(String p, String s, String where) {
        try {
            MergeRegistry.check(info.name(), Map.of(p, s));
        } catch (UsageException e) {
            throw new UsageException(recipe.source() + ": " + e.getMessage() + " (" + where.substring(where.indexOf("parameter")) + ")");
        }
        if (info.param(p).type() == Param.Type.FLAG) return List.of("true", "yes", "1").contains(s.toLowerCase(java.util.Locale.ROOT)) ? 1 : 0;
        return Double.parseDouble(s);
    }
}
