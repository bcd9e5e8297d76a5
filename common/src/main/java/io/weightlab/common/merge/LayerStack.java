package io.weightlab.common.merge;

import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.transform.TensorAction;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * passthrough over {@code slices:} (mergekit's layer stacking): the slices' layer ranges [start, end) laid one after
 * the other and renumbered from 0, each layer's tensors copied from its slice's model (times {@code scale}); the
 * embeddings from the first slice's model, the final norm, head and any other tensor outside the blocks from the
 * last slice's (mergekit's rule). Every stacked tensor must have the shape and dtype of the first slice's model's
 * tensor of the same role, so the result is one architecture.
 */
public final class LayerStack {
    /** One output tensor: its new name, where its values come from, the factor, and a line for provenance. */
    public record Piece(String name, TensorInfo source, double scale, String why) {}

    private LayerStack() {}

    public static List<Piece> plan(MergeRecipe recipe, Map<String, Checkpoint> models) {
        List<MergeRecipe.Model> slices = recipe.stack();
        for (MergeRecipe.Model s : slices) {
            for (String k : s.parameters().keySet()) if (!k.equals("scale")) throw new UsageException(recipe.source() + ": unknown parameter '" + k + "' of " + s.uri() + " for passthrough; its parameters: scale");
        }
        Checkpoint first = models.get(slices.get(0).uri()), last = models.get(slices.get(slices.size() - 1).uri());
        List<Piece> head = new ArrayList<>(), body = new ArrayList<>(), tail = new ArrayList<>();
        for (TensorInfo t : first.tensors()) {
            TensorName n = TensorName.parse(t.name());
            if (n.layer() == null && n.role() == ModuleKind.Role.EMBEDDING) head.add(piece(recipe, slices.get(0), t.name(), t, 0, "embeddings of the first slice's model"));
        }
        int out = 0;
        for (MergeRecipe.Model s : slices) {
            Checkpoint c = models.get(s.uri());
            int layers = MergePlanner.layerCount(c.tensors());
            int from = s.layerRange()[0], to = s.layerRange()[1];
            if (to > layers) throw new UsageException(recipe.source() + ": layer_range [" + from + ", " + to + "] of " + s.uri() + " is past its " + layers + " layer(s)");
            for (TensorInfo t : c.tensors()) {
                TensorName n = TensorName.parse(t.name());
                if (n.layer() == null || n.layer() < from || n.layer() >= to) continue;
                int k = out + n.layer() - from;
                String name = renumber(n, k);
                TensorInfo like = first.tensor(renumber(n, 0));
                if (like == null) throw new CheckpointFormatException(t.file(), t.name(), "SameArchitecture", "no tensor of its role in " + first.root() + " (" + renumber(n, 0) + ")");
                if (!java.util.Arrays.equals(like.shape(), t.shape()) || like.dtype() != t.dtype()) {
                    throw new CheckpointFormatException(t.file(), t.name(), "SameShape", t.shapeString() + " " + t.dtype() + " here, " + like.shapeString() + " " + like.dtype() + " in " + first.root());
                }
                double pos = to - from <= 1 ? 1 : (double) (n.layer() - from) / (to - from - 1);
                body.add(piece(recipe, s, name, t, pos, "layer " + n.layer() + " of " + s.uri()));
            }
            out += to - from;
        }
        for (TensorInfo t : last.tensors()) {
            TensorName n = TensorName.parse(t.name());
            if (n.layer() == null && n.role() != ModuleKind.Role.EMBEDDING) tail.add(piece(recipe, slices.get(slices.size() - 1), t.name(), t, 0, "outside the blocks, from the last slice's model"));
        }
        List<Piece> all = new ArrayList<>(head);
        all.addAll(body);
        all.addAll(tail);
        return all;
    }

    /** Layers of the stacked model. */
    public static int layers(MergeRecipe recipe) {
        int n = 0;
        for (MergeRecipe.Model s : recipe.stack()) n += s.layerRange()[1] - s.layerRange()[0];
        return n;
    }

    static String renumber(TensorName n, int layer) {
        String name = n.name(), prefix = n.stack() + "." + n.layer();
        return n.stack() + "." + layer + name.substring(prefix.length());
    }

    /** {@code output}: the stacked name; filters match the source's name (mergekit: per-model parameters see the input tensor). */
    private static Piece piece(MergeRecipe recipe, MergeRecipe.Model m, String output, TensorInfo t, double pos, String from) {
        String where = recipe.source() + ": parameter scale of " + m.uri() + " for tensor '" + t.name() + "'";
        String v = RecipeValue.resolve(m.parameters().get("scale"), t.name(), pos, where);
        if (v == null) v = RecipeValue.resolve(recipe.parameters().get("scale"), t.name(), pos, where);
        double scale;
        try {
            scale = v == null ? 1.0 : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException(where + ": '" + v + "' is not a number");
        }
        if (!Double.isFinite(scale)) throw new UsageException(where + ": " + v + " is not finite");
        return new Piece(output, t, scale, from + (scale == 1 ? "" : ", times " + scale));
    }

    /** The values of a stacked tensor: its source's, times the scale (decoded exactly, so scale 1 copies). */
    public static final class CopyAction implements TensorAction {
        private final TensorInfo source;
        private final double scale;
        private transient RangeReader reader;

        public CopyAction(TensorInfo source, double scale) {
            this.source = source;
            this.scale = scale;
        }

        @Override public boolean needsInput() { return false; }

        @Override public void open(RangeReader r) { this.reader = r; }

        @Override
        public void apply(long first, double[] values, int count) {
            double[] v = TensorValues.read(reader, source, first, first + count, null);
            for (int j = 0; j < count; j++) values[j] = scale * v[j];
        }

        @Override
        public String describe() {
            return source.name() + (scale == 1 ? "" : " x " + scale);
        }
    }
}
