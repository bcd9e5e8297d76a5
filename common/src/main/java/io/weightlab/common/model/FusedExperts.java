package io.weightlab.common.model;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MoE experts stored as one 3-D tensor [E, d1, d2] (gpt-oss, Llama 4: {@code …mlp.experts.down_proj}) rather than
 * one matrix per expert (Mixtral, Qwen-MoE: {@code …experts.3.down_proj.weight}). Each expert becomes a 2-D view
 * of the same bytes, named as the unfused layout would name it ({@code …experts.3.down_proj}), so every per-matrix
 * analysis, the expert index and the per-layer roll-ups apply unchanged. The views are stored as [in, out] in
 * these formats; singular values do not depend on the orientation.
 */
public final class FusedExperts {
    /** "experts." followed by a segment that is not an expert index. */
    private static final Pattern FUSED = Pattern.compile("(^|\\.)experts\\.(?=[^.0-9][^.]*)");

    private FusedExperts() {}

    public static boolean isFused(TensorInfo t) {
        return t.rank() == 3 && t.dim(0) >= 1 && t.dtype().byteLength(t.dim(1) * t.dim(2)) > 0 && FUSED.matcher(t.name()).find();
    }

    /** One view per expert, in expert order: the same file, each over its own contiguous byte range. */
    public static List<TensorInfo> split(TensorInfo t) {
        if (!isFused(t)) throw new IllegalArgumentException(t.name() + " " + t.shapeString() + " is not a fused expert tensor");
        long per = t.dim(1) * t.dim(2);
        Matcher m = FUSED.matcher(t.name());
        m.find();
        List<TensorInfo> out = new ArrayList<>();
        for (int e = 0; e < t.dim(0); e++) {
            String name = t.name().substring(0, m.end()) + e + "." + t.name().substring(m.end());
            long begin = t.dataBegin() + t.dtype().byteLength(e * per);
            out.add(new TensorInfo(name, t.dtype(), new long[] {t.dim(1), t.dim(2)}, t.file(), begin, begin + t.dtype().byteLength(per)));
        }
        return out;
    }
}
