package io.weightlab.common.merge;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One output tensor's merge as the driver resolved it: the method, its parameters for this tensor (per input model
 * and global, after filters and gradients), the seed of its random masks, and the tensor-wide facts the first passes
 * measured (L1 norms for DARE's rescale, dot products for SLERP, top-k cuts for TIES and breadcrumbs).
 * Inputs are indexed 0..N−1 in recipe order, the base model excluded.
 */
public final class TensorMerge implements Serializable {
    private static final long serialVersionUID = 1L;

    public final String tensor;
    public final long elements;
    public final long[] shape;
    public final MergeMethod method;
    public final String methodName;
    public final int inputs;
    public final Map<String, double[]> perModel;   // parameter -> value per input
    public final Map<String, Double> global;
    public final long seed;

    // Measured before the elementwise pass.
    public double[] l1, l1Kept, sumSq, kept;     // per input: Σ|τ|, Σ|m⊙τ|, Σ τ², kept count (DARE)
    public double dotBX, sqB, sqX;                // SLERP: b·x, ‖b‖², ‖x‖²
    public TopK.Cut[][] cuts;                     // per input, per target
    public double[] gram;                         // δ_i·δ_j, row-major N x N (model_stock, nuslerp)
    public long rankedKeep = -1;                  // k of the search across inputs (sce), −1 without one
    public double[] maskedSumSq;                  // Σ (m⊙τ_i)² under the cut of a search across inputs (sce)
    public double[] columnGram;                   // per vector along dim 0: δ_0·δ_0, δ_0·δ_1, δ_1·δ_1 (nuslerp_row_wise)

    public TensorMerge(String tensor, long[] shape, MergeMethod method, String methodName, int inputs,
                       Map<String, double[]> perModel, Map<String, Double> global, long seed) {
        this.tensor = tensor;
        this.shape = shape.clone();
        long n = 1;
        for (long d : shape) n *= d;
        this.elements = n;
        this.method = method;
        this.methodName = methodName;
        this.inputs = inputs;
        this.perModel = perModel;
        this.global = global;
        this.seed = seed;
        l1 = new double[inputs];
        l1Kept = new double[inputs];
        sumSq = new double[inputs];
        kept = new double[inputs];
    }

    public double[] model(String p) { return perModel.get(p); }

    public double global(String p) { return global.get(p); }

    public boolean flag(String p) { return global.get(p) != 0; }

    /** The parameters as resolved for this tensor, for the provenance. */
    public Map<String, Object> resolved() {
        Map<String, Object> out = new LinkedHashMap<>();
        perModel.forEach((k, v) -> out.put(k, v.clone()));
        out.putAll(global);
        return out;
    }
}
