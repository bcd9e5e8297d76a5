package io.weightlab.common.lora;

/**
 * PiSSA's split of chosen singular triplets into factors: S' = σ/s, A = diag(√S')·Vᵀ, B = U·diag(√S'), so that
 * s·B·A = U diag(σ) Vᵀ over the chosen triplets (peft pissa_init; MiLoRA's svd_init uses the same split).
 */
final class SvdSplit {
    private SvdSplit() {}

    /** {@code cols} of U (out x k) and rows of Vᵀ (k x in) starting at index {@code from}, r of them. */
    static LoraFactors split(double[] u, double[] s, double[] vt, int k, int out, int in, int from, int r, double scaling, String note) {
        double[] a = new double[r * in], b = new double[out * r];
        for (int t = 0; t < r; t++) {
            double root = Math.sqrt(s[from + t] / scaling);
            for (int j = 0; j < in; j++) a[t * in + j] = root * vt[(from + t) * in + j];
            for (int i = 0; i < out; i++) b[i * r + t] = u[i * k + from + t] * root;
        }
        return new LoraFactors(LoraFactors.toFloat(a), LoraFactors.toFloat(b), r, in, out, true, note);
    }
}
