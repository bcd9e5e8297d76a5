package io.weightlab.common.lora;

/**
 * A LoRA module's update s·B·A added to a range of its base weight's stored elements, without forming B·A: element
 * (i, j) of an [out, in] weight gets s·Σ_k B[i,k]·A[k,j] (r products); a weight stored [in, out] (GPT-2's Conv1D,
 * PEFT's fan_in_fan_out) gets (B·A)ᵀ, as PEFT's merge does. Lets a job read "the base merged with the adapter" slice by
 * slice, in float64, at r multiply-adds per element.
 */
public record LoraDelta(double[] b, double[] a, int out, int r, int in, double scaling, boolean transposed) {
    public LoraDelta {
        if (b.length != (long) out * r || a.length != (long) r * in) {
            throw new IllegalArgumentException("B must be " + out + " x " + r + " and A " + r + " x " + in);
        }
    }

    /** y[e − first] += s·(B·A)[e] for the flat stored elements e in [first, end). */
    public void addTo(double[] y, long first, long end) {
        int cols = transposed ? out : in;
        for (long e = first; e < end; e++) {
            int i = (int) (e / cols), j = (int) (e % cols);
            int row = transposed ? j : i, col = transposed ? i : j;
            double s = 0;
            for (int k = 0; k < r; k++) s += b[row * r + k] * a[k * in + col];
            y[(int) (e - first)] += scaling * s;
        }
    }
}
