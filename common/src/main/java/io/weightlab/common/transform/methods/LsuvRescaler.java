package io.weightlab.common.transform.methods;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.transform.AffineAction;
import io.weightlab.common.method.MethodParams;
import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorContext;
import io.weightlab.common.transform.TransformPlan;
import io.weightlab.common.transform.WeightMethod;
import io.weightlab.common.error.UsageException;

import java.io.IOException;
import java.util.Map;

/**
 * {@code lsuv}: the batch form of LSUV (docs/algorithms.md §6.1): W ← W/√v with v the output variance measured for the
 * module elsewhere (a forward pass we cannot run), from {@code variances=<json>}: {"module or tensor name": v}.
 * Biases of scaled modules are zeroed unless {@code zero_bias=false}. A matching weight without a variance is an error.
 */
public final class LsuvRescaler implements WeightMethod {
    private final Map<String, Double> variances;
    private final String source;
    private final boolean zeroBias;

    public LsuvRescaler(MethodParams p) {
        this.source = p.string("variances", null);
        try {
            this.variances = new ObjectMapper().readValue(p.file("variances"), new TypeReference<Map<String, Double>>() {});
        } catch (IOException e) {
            throw new UsageException("lsuv: " + source + " is not a JSON object of name -> variance (" + e.getMessage() + ")");
        }
        this.zeroBias = p.flag("zero_bias", true);
    }

    @Override
    public TransformPlan plan(TensorContext c) {
        if (c.isBias()) return TransformPlan.keep("bias: zeroed only with its scaled weight");
        if (!c.isMatrixWeight()) return TransformPlan.keep("not a matrix weight");
        String name = c.tensor();
        String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : name;
        Double v = variances.containsKey(name) ? variances.get(name) : variances.get(module);
        if (v == null) throw new UsageException("lsuv: " + source + " has no variance for '" + module + "' (or '" + name + "')");
        if (!(v > 0) || v.isInfinite()) throw new UsageException("lsuv: variance of '" + module + "' in " + source + " must be > 0, got " + v);
        return new TransformPlan(new AffineAction(1.0 / Math.sqrt(v), 0.0), Samplers.fmt("divided by sqrt(%s)", v), zeroBias);
    }
}
