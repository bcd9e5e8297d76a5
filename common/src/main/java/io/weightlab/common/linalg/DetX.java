package io.weightlab.common.linalg;

import java.util.Arrays;

/**
 * WeightWatcher's detX (docs/algorithms.md §7.6): rescale λ to x = λ·n/Σλ (mean 1), then count down from the largest
 * how many eigenvalues keep Π x_j ≥ 1, i.e. where the log-determinant of the tail turns negative. Scanning i from
 * n − 1 down to 1, the first i with Π_{j≥i} x_j &lt; 1 gives num = n − i; if the product never drops below 1, num = n
 * and i = 1 (as coded). {@code value} = λ_i, {@code rescaled} = x_i (WeightWatcher's detX_val and, names swapped,
 * detX_val_unrescaled). Products are summed logs: the same comparison without overflow.
 */
public record DetX(int num, double value, double rescaled) {

    /** @param eigenvalues λ = σ², any order; all of them (WeightWatcher does not drop small ones here) */
    public static DetX of(double[] eigenvalues) {
        double[] lam = eigenvalues.clone();
        Arrays.sort(lam);
        int n = lam.length;
        double sum = 0;
        for (double l : lam) sum += l;
        if (n < 2) return n == 0 ? new DetX(0, Double.NaN, Double.NaN) : new DetX(0, lam[0], lam[0] * n / sum); // num 0, i = 0
        double logSum = 0;
        int idx = 1, num = n;
        for (int i = n - 1; i >= 1; i--) {
            logSum += Math.log(lam[i] * n / sum);
            if (logSum < 0) {
                idx = i;
                num = n - i;
                break;
            }
        }
        return new DetX(num, lam[idx], lam[idx] * n / sum);
    }
}
