package io.weightlab.common.compare;

import io.weightlab.common.model.DType;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ranks of ΔW = W_t − W_0 from its singular values (docs/algorithms.md §7.2, §7.5): numerical rank #{σᵢ > τ·σ₁} per
 * relative tolerance τ, the rank above numpy's floor σ₁·max(m, n)·ε with ε the machine epsilon of the stored dtype
 * (numpy's matrix_rank on the stored arrays: the difference of two float32 matrices carries float32 rounding, which a
 * double ε would count as rank), stable rank Σσ²/σ₁² and Roy–Vetterli's effective rank exp(−Σ pᵢ ln pᵢ), pᵢ = σᵢ/Σσ.
 */
public final class DeltaRank {
    private DeltaRank() {}

    /**
     * Machine epsilon (finfo(dtype).eps, the gap from 1 to the next value: 2^-mantissa bits) of a stored float type;
     * of the coarser type when the two checkpoints store the tensor differently, since ΔW carries that rounding.
     */
    public static double epsilon(DType a, DType b) {
        return Math.max(epsilon(a), epsilon(b));
    }

    public static double epsilon(DType d) {
        return switch (d) {
            case F64 -> Math.ulp(1.0);          // 2^-52
            case F32 -> Math.ulp(1.0f);         // 2^-23
            case F16 -> 0x1p-10;
            case BF16 -> 0x1p-7;                // torch.finfo(torch.bfloat16).eps, ml_dtypes' too
            case F8_E4M3 -> 0x1p-3;
            case F8_E5M2 -> 0x1p-2;
            default -> Math.ulp(1.0);           // integers decode exactly into double
        };
    }

    /** @param eps the floor rank's machine epsilon, {@link #epsilon(DType, DType)} of the stored dtypes */
    public static Map<String, Object> of(double[] sv, int rows, int cols, double[] tolerances, double eps) {
        Map<String, Object> m = new LinkedHashMap<>();
        double s1 = sv.length == 0 ? 0 : sv[0], sum = 0, sumSq = 0;
        for (double s : sv) {
            sum += s;
            sumSq += s * s;
        }
        m.put("delta_sv_max", s1);
        m.put("delta_frobenius", Math.sqrt(sumSq));
        for (double tau : tolerances) {
            int r = 0;
            for (double s : sv) if (s1 > 0 && s > tau * s1) r++;
            m.put("delta_rank_" + tau, r);
        }
        double floor = s1 * Math.max(rows, cols) * eps;
        int r = 0;
        for (double s : sv) if (s > floor && s1 > 0) r++;
        m.put("delta_matrix_rank", r);
        m.put("delta_rank_floor_eps", eps);
        m.put("delta_stable_rank", s1 > 0 ? sumSq / (s1 * s1) : Double.NaN);
        double h = 0;
        for (double s : sv) {
            double p = s / sum;
            if (p > 0) h -= p * Math.log(p);
        }
        m.put("delta_effective_rank", sum > 0 ? Math.exp(h) : Double.NaN);
        return m;
    }
}
