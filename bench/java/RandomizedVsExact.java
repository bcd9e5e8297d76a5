import io.weightlab.common.linalg.Lapack;
import io.weightlab.common.linalg.RandomizedSvd;

import java.util.SplittableRandom;

/**
 * Top-64 singular values of a 4096 x 4096 matrix: randomized (range finder, oversampling 64, q power iterations)
 * vs exact dgesdd, one thread. Two matrices: U diag(σ) Vᵀ with a power-law spectrum σ_i = i^{-1/2} (heavy-tailed,
 * like trained weights) built from random orthogonal factors, and a plain Gaussian one (Marchenko–Pastur, flat
 * top: the hard case). Run with bench/randomized_vs_exact.sh.
 */
public class RandomizedVsExact {
    public static void main(String[] args) {
        int n = 4096, k = 64;
        SplittableRandom r = new SplittableRandom(1);
        double[] g1 = gaussian(r, n * n), g2 = gaussian(r, n * n);
        double[] u = Lapack.orthonormalize(g1, n, n), v = Lapack.orthonormalize(g2, n, n);
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) u[i * n + j] *= Math.pow(j + 1, -0.5);
        double[] powerLaw = Lapack.multiply(u, false, v, true, n, n, n);
        double[] gauss = gaussian(r, n * n);
        for (String[] c : new String[][] {{"power-law spectrum"}, {"gaussian (flat top)"}}) {
            double[] a = c[0].startsWith("power") ? powerLaw : gauss;
            long t0 = System.nanoTime();
            double[] exact = Lapack.singularValues(a, n, n);
            double te = (System.nanoTime() - t0) / 1e9;
            for (String variant : new String[] {"power", "krylov", "krylov-f32"}) for (int q : variant.equals("power") ? new int[] {2, 4} : new int[] {3, 4}) {
                t0 = System.nanoTime();
                // krylov-f32: what spectrum --method randomized does for weights stored in <= 32 bits (products by sgemm)
                float[] af = null;
                if (variant.equals("krylov-f32")) {
                    af = new float[a.length];
                    for (int i = 0; i < a.length; i++) af[i] = (float) a[i];
                }
                double[] top = variant.equals("power") ? RandomizedSvd.topSingularValues(RandomizedSvd.dense(a, n, n), k, k, q, 7)
                        : variant.equals("krylov") ? RandomizedSvd.topSingularValuesKrylov(RandomizedSvd.dense(a, n, n), k, 8, q, 7)
                        : RandomizedSvd.topSingularValuesKrylov(RandomizedSvd.denseFloat(af, n, n), k, 8, q, 7);
                double tr = (System.nanoTime() - t0) / 1e9;
                double worst = 0;
                for (int i = 0; i < k; i++) worst = Math.max(worst, Math.abs(exact[i] - top[i]) / exact[i]);
                System.out.printf(java.util.Locale.ROOT, "| %s | exact %.2f s | %s q=%d %.3f s | %.1fx | max rel. error top-%d %.1e |%n",
                        c[0], te, variant, q, tr, te / tr, k, worst);
            }
        }
    }

    static double[] gaussian(SplittableRandom r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
        return x;
    }
}
