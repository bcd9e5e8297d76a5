package io.weightlab.common.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.model.DType;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.model.TensorInfo;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A trained adapter whose initialisation changed the base (PiSSA, MiLoRA, OLoRA, LoRA-GA) turned into a plain LoRA on
 * the original base (docs/algorithms.md §4, PEFT's {@code path_initial_model_for_weight_conversion}):
 * ΔW = s(BA − B₀A₀) = s·[B | −B₀]·[A ; A₀], so A' = [A ; A₀] [2r, in], B' = [B | −B₀] [out, 2r], r' = 2r,
 * α' = 2α (α·√2 with rslora) and patterns doubled, so s is unchanged. Exact: concatenation and negation only.
 */
public final class LoraConversion {
    static final String A = ".lora_A.weight", B = ".lora_B.weight";

    /** One module's four inputs and its two outputs' layout. */
    public record Pair(String module, TensorInfo a, TensorInfo b, TensorInfo a0, TensorInfo b0, DType dtype) implements Serializable {
        public int r() { return (int) a.dim(0); }

        public int in() { return (int) a.dim(1); }

        public int out() { return (int) b.dim(0); }
    }

    private LoraConversion() {}

    /** Pairs every lora_A/lora_B of the trained adapter with the initial one, checking names, shapes and dtypes. */
    public static List<Pair> pair(Checkpoint trained, Checkpoint initial) {
        TreeSet<String> keysT = keys(trained), keysI = keys(initial);
        if (!keysT.equals(keysI)) {
            TreeSet<String> onlyT = new TreeSet<>(keysT), onlyI = new TreeSet<>(keysI);
            onlyT.removeAll(keysI);
            onlyI.removeAll(keysT);
            throw new UsageException("the trained adapter " + trained.root() + " and the initial adapter " + initial.root()
                    + " target different tensors (only trained: " + head(onlyT) + "; only initial: " + head(onlyI) + "; rule: SameModules)");
        }
        List<Pair> out = new ArrayList<>();
        for (String k : keysT) {
            if (!k.endsWith(A)) continue;
            String module = k.substring(0, k.length() - A.length());
            TensorInfo a = trained.tensor(k), b = trained.tensor(module + B), a0 = initial.tensor(k), b0 = initial.tensor(module + B);
            if (b == null || b0 == null) throw new UsageException(trained.root() + ": '" + k + "' has no matching lora_B (rule: CompleteModule)");
            for (TensorInfo[] p : new TensorInfo[][] {{a, a0}, {b, b0}}) {
                if (!Arrays.equals(p[0].shape(), p[1].shape())) {
                    throw new UsageException(p[0].file() + ": '" + p[0].name() + "' is " + p[0].shapeString() + " but the initial adapter's is "
                            + p[1].shapeString() + " (" + p[1].file() + "; rule: SameShapes)");
                }
            }
            if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1)) {
                throw new UsageException(a.file() + ": '" + module + "' lora_A " + a.shapeString() + " and lora_B " + b.shapeString()
                        + " do not form a rank-r product (rule: LoraShapes)");
            }
            DType dt = widest(List.of(a, b, a0, b0));
            out.add(new Pair(module, a, b, a0, b0, dt));
        }
        return out;
    }

    private static TreeSet<String> keys(Checkpoint c) {
        TreeSet<String> keys = new TreeSet<>();
        for (TensorInfo t : c.tensors()) {
            String n = t.name();
            if (!n.endsWith(A) && !n.endsWith(B)) {
                throw new UsageException(t.file() + ": '" + n + "' is not a lora_A/lora_B weight; DoRA, LoRA bias, embedding LoRA and"
                        + " modules_to_save cannot be converted to a plain LoRA (rule: PlainLoraKeys)");
            }
            if (!t.dtype().isFloatingPoint()) throw new UsageException(t.file() + ": '" + n + "' is " + t.dtype() + ", not floating point");
            keys.add(n);
        }
        return keys;
    }

    /** torch.cat's type promotion: the widest floating type of the four. */
    private static DType widest(List<TensorInfo> ts) {
        DType d = ts.get(0).dtype();
        for (TensorInfo t : ts) {
            if (t.dtype() != d) return t.dtype() == DType.F64 || d == DType.F64 ? DType.F64 : DType.F32;
        }
        return d;
    }

    private static String head(TreeSet<String> s) {
        return s.isEmpty() ? "none" : s.size() <= 3 ? s.toString() : s.first() + " and " + (s.size() - 1) + " more";
    }

    public static List<SafetensorsLayout.Spec> specs(List<Pair> pairs) {
        List<SafetensorsLayout.Spec> specs = new ArrayList<>();
        for (Pair p : pairs) {
            specs.add(new SafetensorsLayout.Spec(p.module() + A, p.dtype(), new long[] {2L * p.r(), p.in()}));
            specs.add(new SafetensorsLayout.Spec(p.module() + B, p.dtype(), new long[] {p.out(), 2L * p.r()}));
        }
        return specs;
    }

    /** A' = [A ; A₀] (row-major: A's rows, then A₀'s). */
    public static double[] stackA(double[] a, double[] a0) {
        double[] out = Arrays.copyOf(a, a.length + a0.length);
        System.arraycopy(a0, 0, out, a.length, a0.length);
        return out;
    }

    /** B' = [B | −B₀] for [out, r] inputs. */
    public static double[] stackB(double[] b, double[] b0, int out, int r) {
        double[] res = new double[2 * b.length];
        for (int i = 0; i < out; i++) {
            System.arraycopy(b, i * r, res, i * 2 * r, r);
            for (int t = 0; t < r; t++) res[i * 2 * r + r + t] = -b0[i * r + t];
        }
        return res;
    }

    /** The converted adapter_config.json: the trained config with r, lora_alpha and the patterns doubled as PEFT does. */
    public static String config(byte[] trainedConfig, String baseModel) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
        JsonNode root = om.readTree(trainedConfig);
        if (!(root instanceof ObjectNode c) || !"LORA".equals(root.path("peft_type").asText())) {
            throw new UsageException("adapter_config.json is not a PEFT LoRA config (peft_type must be LORA)");
        }
        boolean rslora = c.path("use_rslora").asBoolean(false);
        boolean patterns = c.path("rank_pattern").size() > 0 || c.path("alpha_pattern").size() > 0;
        if (rslora && patterns) {
            throw new UsageException("use_rslora with rank_pattern/alpha_pattern cannot be converted: doubling an alpha does not keep s = alpha/sqrt(r) (PEFT refuses it too)");
        }
        if (c.path("use_dora").asBoolean(false)) throw new UsageException("DoRA adapters cannot be converted to a plain LoRA");
        c.put("r", 2 * c.path("r").asInt());
        double alpha = c.path("lora_alpha").asDouble();
        double newAlpha = rslora ? alpha * Math.sqrt(2) : 2 * alpha;
        if (newAlpha == Math.rint(newAlpha)) c.put("lora_alpha", (long) newAlpha); else c.put("lora_alpha", newAlpha);
        for (String p : List.of("rank_pattern", "alpha_pattern")) {
            if (c.get(p) instanceof ObjectNode o) {
                for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getValue().isIntegralNumber()) o.put(e.getKey(), 2 * e.getValue().asLong()); else o.put(e.getKey(), 2 * e.getValue().asDouble());
                }
            }
        }
        c.put("init_lora_weights", true);
        if (baseModel != null) c.put("base_model_name_or_path", baseModel);
        return om.writeValueAsString(om.treeToValue(c, Object.class));
    }
}
