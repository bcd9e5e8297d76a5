package io.weightlab.common.merge;

/**
 * DELLA's magnitude-ranked keep mask (Deep et al. 2024, "DELLA-Merging"; mergekit's {@code della_magprune}): within each
 * row, the element of rank r = 1..R by |τ| (ascending) is kept with probability
 * {@code p(r) = density − ε + 2ε·(r − 1)/(R − 1)}, so larger |τ| are kept more often and a row keeps density of its
 * elements on average. "Row" is mergekit's dim 1: a 1-D tensor is one row; an [out, in] matrix has rows of `in`; a
 * tensor of more dimensions ranks along its second axis for each fixed other index (torch.argsort(dim=1)). Ties in
 * |τ| rank by element index (the earlier lower); torch's argsort leaves them unspecified. R = 1 (one element per row)
 * keeps with probability density, where mergekit divides 0 by 0. The uniforms are DARE's streams from (seed, tensor,
 * input, element index) ({@link DareMask#uniforms}): element e keeps when its uniform is below p(rank of e), whatever
 * the slicing, as long as the chunk holds whole rows ({@link #rowBlock}).
 */
public final class DellaMask {
    private DellaMask() {}

    /** Elements of one rank group's block: the trailing dimensions after the first (the whole tensor when 1-D). */
    public static long rowBlock(long[] shape) {
        long n = 1;
        for (int d = shape.length >= 2 ? 1 : 0; d < shape.length; d++) n *= shape[d];
        return Math.max(1, n);
    }

    /** R, the number of elements ranked together. */
    static long rankLength(long[] shape) {
        return shape.length == 0 ? 1 : shape.length == 1 ? shape[0] : shape[1];
    }

    /** The keep probability of rank r (1-based) among R. */
    public static double keepProbability(double density, double epsilon, long rank, long r) {
        if (r <= 1) return density;
        return (density - epsilon) + 2 * epsilon * (double) (rank - 1) / (double) (r - 1);
    }

    /** Input i's mask for elements [first, first + count), which must be whole row blocks; {@code tau} their τ. */
    public static boolean[] draw(long seed, String tensor, int input, double density, double epsilon, long[] shape,
                                 long first, int count, double[] tau) {
        boolean[] keep = new boolean[count];
        if (density >= 1) {
            java.util.Arrays.fill(keep, true);
            return keep;
        }
        if (density <= 0) return keep;
        double[] p = probabilities(density, epsilon, shape, first, count, tau);
        double[] u = DareMask.uniforms(seed, tensor, input, first, count);
        for (int j = 0; j < count; j++) keep[j] = u[j] < p[j];
        return keep;
    }

    /** p(rank) of every element of [first, first + count), ranked within its row. */
    public static double[] probabilities(double density, double epsilon, long[] shape, long first, int count, double[] tau) {
        long block = rowBlock(shape);
        if (first % block != 0 || count % block != 0) {
            throw new IllegalStateException("della: elements [" + first + ", " + (first + count) + ") are not whole rows of " + block);
        }
        int r = (int) rankLength(shape), stride = (int) (block / Math.max(1, r));
        double[] p = new double[count];
        double[] a = new double[r], sorted = new double[r];
        int[] seen = new int[r];
        for (int k = 0; k < count; k += (int) block) {
            for (int c = 0; c < stride; c++) {
                for (int b = 0; b < r; b++) a[b] = Math.abs(tau[k + c + b * stride]);
                System.arraycopy(a, 0, sorted, 0, r);
                java.util.Arrays.sort(sorted);
                java.util.Arrays.fill(seen, 0);
                for (int b = 0; b < r; b++) {
                    int lo = lowerBound(sorted, a[b]);
                    long rank = lo + seen[lo]++ + 1; // equal |τ| in index order
                    p[k + c + b * stride] = keepProbability(density, epsilon, rank, r);
                }
            }
        }
        return p;
    }

    /** The number of values below v in ascending {@code s}. */
    private static int lowerBound(double[] s, double v) {
        int lo = 0, hi = s.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (s[mid] < v) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
