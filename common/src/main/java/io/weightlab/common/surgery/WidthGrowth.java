package io.weightlab.common.surgery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.synth.DecoderArchitecture;
import io.weightlab.common.transform.WidthExpandAction;
import io.weightlab.common.transform.WidthExpandAction.Axis;

import java.util.Set;

/**
 * Lossless growth of a dense LLaMA-family decoder's residual width D → D' and head count H → H' (LEMON's
 * construction adapted to RMSNorm, docs/algorithms.md §24.1). The residual stream of the wide model is
 * x* = [x, …, x (k = ⌊D'/D⌋ copies), 0 (r = D' mod D)]; writers (embedding rows, o_proj and down_proj rows) emit
 * that pattern, readers (q/k/v, gate/up, lm_head) split each input's weight over its k copies, RMSNorm gains are
 * scaled by √s with s = kD/D' and ε by s, head h' copies head h' mod H with head_dim fixed and the GQA group size
 * kept. Spark-free: the job asks {@link #action} for each target tensor.
 */
public final class WidthGrowth {
    private static final Set<String> DENSE = Set.of("llama", "mistral", "qwen2", "qwen3");

    private final int d, dT, k, heads, headsT, kv, kvT, headDim;
    private final double s;
    private final boolean tied;
    private final double newStd;
    private final long seed;

    private WidthGrowth(int d, int dT, int heads, int headsT, int kv, int kvT, int headDim, boolean tied, double newStd, long seed) {
        this.d = d;
        this.dT = dT;
        this.k = dT / d;
        this.heads = heads;
        this.headsT = headsT;
        this.kv = kv;
        this.kvT = kvT;
        this.headDim = headDim;
        this.s = (double) k * d / dT;
        this.tied = tied;
        this.newStd = newStd;
        this.seed = seed;
    }

    /** Whether {@code --set} asks for width growth at all. */
    public static boolean requested(JsonNode source, JsonNode target) {
        for (String key : new String[] {"hidden_size", "num_attention_heads", "num_key_value_heads"}) {
            if (!source.path(key).equals(target.path(key)) && target.has(key)) return true;
        }
        return false;
    }

    /**
     * Checks the target shape and completes it in place: num_attention_heads = D'/head_dim and
     * num_key_value_heads = H'/g when not given, rms_norm_eps ← s·ε. Every refusal is one line naming the rule.
     */
    public static WidthGrowth plan(JsonNode source, ObjectNode target, Set<String> given, String where, double newStd, long seed) {
        String type = source.path("model_type").asText("");
        if (!DENSE.contains(type)) {
            throw new UsageException(where + ": growing hidden_size or heads is implemented for dense decoders " + DENSE + ", not '" + type + "' (rule: FunctionPreserving)");
        }
        int d = source.path("hidden_size").asInt(), heads = source.path("num_attention_heads").asInt();
        int kv = source.path("num_key_value_heads").asInt(heads);
        long hd = DecoderArchitecture.headDim(source, where);
        // heads × head_dim = hidden_size is kept when the source has it (head_dim written out or not); only a source
        // that already decouples the two (e.g. Qwen3-style) may grow one without the other
        boolean decoupled = (long) heads * hd != d;
        int group = heads / kv;
        int dT = target.path("hidden_size").asInt();
        if (!given.contains("num_attention_heads")) {
            if (!decoupled && dT % hd != 0) {
                throw new UsageException(where + ": hidden_size " + dT + " is not a multiple of head_dim " + hd + "; head_dim stays fixed when the width grows (rule: HeadDimFixed)");
            }
            target.put("num_attention_heads", decoupled ? heads : dT / hd);
        }
        int headsT = target.path("num_attention_heads").asInt();
        if (!decoupled && (long) headsT * hd != dT) {
            throw new UsageException(where + ": num_attention_heads " + headsT + " × head_dim " + hd + " = " + (long) headsT * hd + " is not hidden_size " + dT
                    + "; head_dim stays fixed, so give hidden_size = heads × " + hd + " (rule: HeadDimFixed)");
        }
        if (headsT < heads) throw new UsageException(where + ": num_attention_heads " + headsT + " is fewer than the source's " + heads + " (rule: TargetNotSmaller)");
        if (headsT % group != 0) {
            throw new UsageException(where + ": num_attention_heads " + headsT + " is not a multiple of the GQA group size " + group + " (" + heads + " heads / " + kv
                    + " key-value heads), which growth keeps (rule: GqaGroupKept)");
        }
        if (!given.contains("num_key_value_heads")) target.put("num_key_value_heads", headsT / group);
        int kvT = target.path("num_key_value_heads").asInt();
        if (kvT * group != headsT) {
            throw new UsageException(where + ": num_key_value_heads " + kvT + " would change the GQA group size " + group + "; with " + headsT + " heads it must be "
                    + headsT / group + " (rule: GqaGroupKept)");
        }
        WidthGrowth g = new WidthGrowth(d, dT, heads, headsT, kv, kvT, (int) hd, source.path("tie_word_embeddings").asBoolean(false), newStd, seed);
        double eps = source.path("rms_norm_eps").asDouble(1e-6);
        target.put("rms_norm_eps", eps * g.s);
        return g;
    }

    /** k, the number of full copies of the source residual; s = kD/D', the factor on the mean square. */
    public int copies() { return k; }

    public double meanSquareFactor() { return s; }

    /**
     * The action building target tensor {@code t} from source tensor {@code src}, or null when the tensor does not
     * depend on the width (then it is copied, or grown as depth/FFN growth does).
     */
    public WidthExpandAction action(DecoderArchitecture.Tensor t, TensorInfo src) {
        long[] shape = t.shape();
        String n = t.name();
        ModuleKind kind = t.kind();
        Axis resid = new Axis(residual(), false, 0, 0);              // writer side: copies exact, residue 0
        Axis residIn = new Axis(residual(), true, 0, newStd);        // reader side: copies split, residue free
        if (kind == ModuleKind.NORM) {
            if (shape[0] != dT) return null;                         // q_norm / k_norm over head_dim
            double gain = Math.sqrt(s) / (tied && n.equals("model.norm.weight") ? k : 1);
            return new WidthExpandAction(src, null, new Axis(residual(), false, Math.sqrt(s), 0), gain, 0, seed, n);
        }
        return switch (kind) {
            case EMBEDDING -> action(src, identity(shape[0]), resid, n);
            case LM_HEAD -> action(src, identity(shape[0]), residIn, n);
            case ATTN_Q -> action(src, new Axis(headRows(heads, headsT), false, 0, 0), residIn, n);
            case ATTN_K, ATTN_V -> action(src, new Axis(headRows(kv, kvT), false, 0, 0), residIn, n);
            case ATTN_O -> action(src, resid, new Axis(headRows(heads, headsT), true, 0, 0), n);
            case MLP_GATE, MLP_UP -> action(src, new Axis(units(src.dim(0), shape[0]), false, 0, newStd), residIn, n);
            case MLP_DOWN -> action(src, resid, new Axis(units(src.dim(1), shape[1]), false, 0, 0), n);
            default -> {
                if (n.endsWith("q_proj.bias")) yield new WidthExpandAction(src, null, new Axis(headRows(heads, headsT), false, 0, 0), 1, 0, seed, n);
                if (n.endsWith("k_proj.bias") || n.endsWith("v_proj.bias")) yield new WidthExpandAction(src, null, new Axis(headRows(kv, kvT), false, 0, 0), 1, 0, seed, n);
                throw new UsageException(n + ": no width-growth rule for this tensor (rule: FunctionPreserving)");
            }
        };
    }

    private WidthExpandAction action(TensorInfo src, Axis rows, Axis cols, String n) {
        return new WidthExpandAction(src, rows, cols, 1, newStd, seed, n);
    }

    /** Residual coordinate j' ↦ j' mod D for the k full copies, −1 for the r residue coordinates. */
    int[] residual() {
        int[] m = new int[dT];
        for (int j = 0; j < dT; j++) m[j] = j < k * d ? j % d : -1;
        return m;
    }

    /** Row h'·head_dim + t of a head-major projection reads row (h' mod H)·head_dim + t: head h' copies head h' mod H. */
    int[] headRows(int from, int to) {
        int[] m = new int[to * headDim];
        for (int h = 0; h < to; h++) for (int t = 0; t < headDim; t++) m[h * headDim + t] = (h % from) * headDim + t;
        return m;
    }

    private static Axis identity(long n) {
        return new Axis(units(n, n), false, 0, 0);
    }

    /** FFN units (or vocabulary rows): the source's in place, new ones free. */
    private static int[] units(long from, long to) {
        int[] m = new int[(int) to];
        for (int i = 0; i < to; i++) m[i] = i < from ? i : -1;
        return m;
    }
}
