package io.weightlab.common.transform;

import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;
import io.weightlab.common.stats.MomentAccumulator;

/**
 * What a method knows when it decides about one tensor: the tensor, its parsed name, its 1-based depth inside
 * the block stack (null outside it), the model's block count, fan-in/fan-out from the layout, the global seed,
 * and its measured moments when the method asked for them.
 */
public record TensorContext(TensorInfo info, TensorName name, Integer depth, int numLayers, long fanIn, long fanOut,
                            long seed, MomentAccumulator moments) {

    /** How 2-D weights are stored: torch Linear [out, in], or GPT-2 Conv1D [in, out]. */
    public enum Layout { LINEAR, CONV1D }

    public static TensorContext of(TensorInfo t, Layout layout, int numLayers, long seed, MomentAccumulator moments) {
        TensorName n = TensorName.parse(t.name());
        Integer depth = n.stack() != null && n.layer() != null ? n.layer() + 1 : null;
        long fanIn, fanOut;
        if (t.rank() < 2) {
            fanIn = fanOut = t.rank() == 0 ? 1 : t.dim(0);
        } else {
            long receptive = 1;
            for (int i = 2; i < t.rank(); i++) receptive *= t.dim(i);
            boolean conv1d = layout == Layout.CONV1D && t.rank() == 2;
            fanIn = (conv1d ? t.dim(0) : t.dim(1)) * receptive;
            fanOut = (conv1d ? t.dim(1) : t.dim(0)) * receptive;
        }
        return new TensorContext(t, n, depth, numLayers, fanIn, fanOut, seed, moments);
    }

    public String tensor() { return info.name(); }

    /** A matrix (or higher) weight of a module: what initialisers and rescalers act on. */
    public boolean isMatrixWeight() {
        return info.rank() >= 2 && name.param() != TensorName.Param.BIAS && name.isAnalysable() && name.kind() != ModuleKind.NORM;
    }

    public boolean isBias() {
        return name.param() == TensorName.Param.BIAS && name.isAnalysable() && name.kind() != ModuleKind.NORM;
    }

    /** The last projection of a residual branch (attention output, MLP down projection). */
    public boolean isResidualOutput() {
        return name.kind() == ModuleKind.ATTN_O || name.kind() == ModuleKind.MLP_DOWN;
    }
}
