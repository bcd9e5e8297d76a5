package io.weightlab.common.lora;

import io.weightlab.common.transform.TensorRandom;
import io.weightlab.common.linalg.Lapack;
import org.apache.commons.math3.random.RandomGenerator;

/**
 * PEFT's plain inits, base unchanged (docs/algorithms.md §3.4): {@code kaiming} (PEFT's default {@code True}:
 * A ~ U(−1/√in, 1/√in), B = 0), {@code gaussian} (A ~ N(0, 1/r²), B = 0), {@code orthogonal} (A and B non-zero
 * from the odd/even rows of an r x r orthogonal Q, so B·A = 0; r even).
 */
public final class PlainLoraInitializer implements LoraInitializer {
    public enum Kind { KAIMING, GAUSSIAN, ORTHOGONAL }

    private final Kind kind;

    public PlainLoraInitializer(Kind kind) { this.kind = kind; }

    @Override
    public LoraFactors init(ModuleData d, int r, double scaling, long seed) {
        int out = d.out(), in = d.in();
        RandomGenerator rng = TensorRandom.forBlock(seed, "lora", 0);
        double[] a = new double[r * in], b = new double[out * r];
        switch (kind) {
            case KAIMING -> { for (int i = 0; i < a.length; i++) a[i] = (2 * rng.nextDouble() - 1) / Math.sqrt(in); }
            case GAUSSIAN -> { for (int i = 0; i < a.length; i++) a[i] = rng.nextGaussian() / r; }
            case ORTHOGONAL -> {
                if (r % 2 != 0) throw new io.weightlab.common.error.UsageException("orthogonal LoRA init needs an even r, got " + r);
                double[] g = new double[r * r];
                for (int i = 0; i < g.length; i++) g[i] = rng.nextGaussian();
                double[] q = Lapack.qr(g, r, r).q();
                int h = r / 2;
                double[] odd = new double[h * r], even = new double[h * r];
                for (int i = 0; i < h; i++) {
                    System.arraycopy(q, (2 * i) * r, odd, i * r, r);
                    System.arraycopy(q, (2 * i + 1) * r, even, i * r, r);
                }
                double[] r1 = new double[in * h], r2 = new double[out * h];
                for (int i = 0; i < r1.length; i++) r1[i] = rng.nextGaussian();
                for (int i = 0; i < r2.length; i++) r2[i] = rng.nextGaussian();
                double[] at = Lapack.multiply(r1, false, odd, false, in, r, h); // [in, r]
                for (int i = 0; i < in; i++) for (int t = 0; t < r; t++) a[t * in + i] = at[i * r + t] / 10;
                double[] bb = Lapack.multiply(r2, false, even, false, out, r, h); // [out, r]
                for (int i = 0; i < bb.length; i++) b[i] = bb[i] / 10;
            }
        }
        return new LoraFactors(LoraFactors.toFloat(a), LoraFactors.toFloat(b), r, in, out, false, kind.name().toLowerCase());
    }

    @Override public boolean changesBase() { return false; }

    @Override public boolean needsWeight() { return false; }
}
