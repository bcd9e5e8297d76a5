package io.weightlab.common.surgery;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.synth.DecoderArchitecture;
import io.weightlab.common.transform.StridedSelectionAction;
import io.weightlab.common.transform.TransformPlanner;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The plan of weight subcloning (docs/algorithms.md, weight subcloning): from the importance rankings (measured by
 * the shrink job's distributed pass), which teacher layers, residual-stream dimensions and FFN neurons a student
 * keeps, and the √(D/d) scale of the matrices that read the narrowed stream. Spark-free.
 */
public final class SubclonePlan {
    /** Importance of each residual-stream dimension, of each FFN neuron per teacher layer, and where it came from. */
    public record Importance(double[] hidden, Map<Integer, double[]> ffn, String source) implements Serializable {}

    private SubclonePlan() {}

    /** The d most important indices of {@code score}, most important first (ties: lower index first). */
    public static long[] top(double[] score, long d) {
        Integer[] order = new Integer[score.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
        long[] out = new long[(int) d];
        for (int i = 0; i < d; i++) out[i] = order[i];
        return out;
    }

    /** Teacher blocks to keep for a student of {@code target} layers: evenly spread, the first and the last kept. */
    public static int[] keptLayers(int teacher, int target) {
        int[] keep = new int[target];
        for (int i = 0; i < target; i++) keep[i] = target == 1 ? 0 : (int) Math.round(i * (teacher - 1) / (double) (target - 1));
        return keep;
    }

    /** The student's tensors gathered from the teacher by the rankings; {@code keep[l]} is student layer l's teacher layer. */
    public static List<TransformPlanner.Planned> plan(Checkpoint teacher, ObjectNode student, Importance imp, int[] keep, boolean scale) {
        long d = student.path("hidden_size").asLong(), ffnOut = student.path("intermediate_size").asLong();
        long[] hid = top(imp.hidden(), d);
        double s = scale ? Math.sqrt(imp.hidden().length / (double) d) : 1.0;
        List<TransformPlanner.Planned> plans = new ArrayList<>();
        for (DecoderArchitecture.Tensor t : DecoderArchitecture.tensors(student, "the student config")) {
            String name = t.layer() < 0 ? t.name() : t.name().replaceFirst("^model\\.layers\\.\\d+\\.", "model.layers." + keep[t.layer()] + ".");
            TensorInfo src = teacher.tensor(name);
            if (src == null) throw new UsageException(teacher.root() + ": '" + name + "' is not in the teacher (rule: SelectedKeyExists)");
            long[] ffn = t.layer() < 0 ? null : top(imp.ffn().get(keep[t.layer()]), ffnOut);
            long[][] idx;
            double f = 1.0;
            switch (t.kind()) {
                case EMBEDDING, LM_HEAD -> idx = new long[][] {null, hid};
                case NORM -> idx = new long[][] {hid};
                case ATTN_Q, ATTN_K, ATTN_V -> { idx = new long[][] {null, hid}; f = s; }
                case ATTN_O -> idx = new long[][] {hid, null};
                case MLP_GATE, MLP_UP -> { idx = new long[][] {ffn, hid}; f = s; }
                case MLP_DOWN -> idx = new long[][] {hid, ffn};
                default -> throw new UsageException("'" + t.name() + "': subcloning handles dense LLaMA/Mistral tensors, not " + t.kind().label());
            }
            for (int k = 0; k < idx.length; k++) {
                if (idx[k] == null && t.shape()[k] != src.dim(k)) {
                    throw new UsageException("'" + t.name() + "': dimension " + k + " changes (" + src.dim(k) + " -> " + t.shape()[k]
                            + "); subcloning narrows hidden_size and intermediate_size only, keep the head counts (rule: SubcloneDims)");
                }
            }
            plans.add(TransformPlanner.Planned.computed(t.name(), src.dtype(), t.shape(), "subclone", new StridedSelectionAction(src, t.shape(), idx, f),
                    "from " + name + (f != 1 ? " x " + f : "")));
        }
        return plans;
    }
}
