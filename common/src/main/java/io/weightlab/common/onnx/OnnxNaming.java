package io.weightlab.common.onnx;

import io.weightlab.common.error.CheckpointFormatException;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gives every initializer the name and layout a torch state dict would have. Anonymous initializers
 * ({@code onnx::MatMul_787}) are named after the graph node that uses them
 * ({@code /encoder/layer.0/attention/self/query/MatMul} gives {@code encoder.layer.0.attention.self.query.weight});
 * quantization companions ({@code _quantized}, {@code _scale}, {@code _zero_point}) follow their weight; a 2-D
 * weight that is the right operand of MatMul/MatMulInteger (or of Gemm without transB) is stored [in, out] and
 * is transposed to torch Linear's [out, in].
 */
public final class OnnxNaming {
    static final List<String> SUFFIXES = List.of("_quantized", "_scale", "_zero_point");
    private static final Set<String> MATMUL = Set.of("MatMul", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulNBits");

    /** The decision for one initializer. */
    public record Mapping(String original, String name, boolean transposed, String node) {}

    private OnnxNaming() {}

    public static Map<String, Mapping> map(String file, List<OnnxInitializer> inits, List<OnnxNode> nodes) {
        Map<String, OnnxNode> firstUse = new HashMap<>();
        Map<String, Integer> inputIndex = new HashMap<>();
        for (OnnxNode n : nodes) {
            for (int i = 0; i < n.inputs().size(); i++) {
                String in = n.inputs().get(i);
                if (!firstUse.containsKey(in)) {
                    firstUse.put(in, n);
                    inputIndex.put(in, i);
                }
            }
        }
        Map<String, OnnxInitializer> byName = new HashMap<>();
        for (OnnxInitializer t : inits) byName.put(t.name(), t);
        Map<String, Mapping> out = new LinkedHashMap<>();
        Map<String, String> taken = new HashMap<>();
        for (OnnxInitializer t : inits) {
            String base = t.name(), suffix = "";
            for (String s : SUFFIXES) {
                if (base.endsWith(s) && base.length() > s.length()) {
                    base = base.substring(0, base.length() - s.length());
                    suffix = s;
                    break;
                }
            }
            // The primary tensor of a quantized group is "<base>_quantized" (or "<base>" when unquantized).
            String primary = byName.containsKey(base + "_quantized") ? base + "_quantized" : base;
            OnnxNode user = firstUse.get(primary);
            String moduleName;
            if (base.startsWith("onnx::") && user != null && !user.name().isEmpty()) {
                moduleName = modulePath(user.name()) + ".weight";
            } else {
                moduleName = base;
            }
            String name = suffix.equals("_quantized") || suffix.isEmpty() ? moduleName : moduleName + suffix;
            boolean isPrimary = t.name().equals(primary);
            boolean transposed = isPrimary && t.dims().length == 2 && user != null && isRightOperand(user, inputIndex.get(primary));
            String prev = taken.put(name, t.name());
            if (prev != null) {
                throw new CheckpointFormatException(file, t.name(), "AmbiguousName",
                        "both '" + prev + "' and '" + t.name() + "' would be named '" + name + "'");
            }
            out.put(t.name(), new Mapping(t.name(), name, transposed, user == null ? null : user.name()));
        }
        return out;
    }

    private static boolean isRightOperand(OnnxNode n, Integer index) {
        if (index == null || index != 1) return false;
        if (MATMUL.contains(n.opType())) return true;
        return n.opType().equals("Gemm") && n.intAttributes().getOrDefault("transB", 0L) == 0L;
    }

    /** "/encoder/layer.0/attention/self/query/MatMul" to "encoder.layer.0.attention.self.query". */
    static String modulePath(String nodeName) {
        String s = nodeName.startsWith("/") ? nodeName.substring(1) : nodeName;
        int last = s.lastIndexOf('/');
        if (last < 0) return s;
        return s.substring(0, last).replace('/', '.');
    }
}
