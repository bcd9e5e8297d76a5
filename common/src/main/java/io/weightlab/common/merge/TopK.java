package io.weightlab.common.merge;

import java.io.Serializable;

/**
 * Exact top-k of |τ| over a whole tensor without holding it (TIES' magnitude pruning, breadcrumbs' outlier cut).
 * The order is |τ| descending, then element index ascending (mergekit's torch argsort breaks ties arbitrarily; ours
 * is fixed so the bytes never depend on the task split). The threshold is found by a radix search over the bits of
 * |τ| as a double (non-negative doubles order like their bit patterns): each distributed pass histograms the next
 * {@link #BITS} bits of the elements that still match the prefix, the driver picks the bin holding the k-th element,
 * until that bin holds a single value. When only some of the elements equal to the threshold are kept, one more pass
 * counts them per unit so any slice knows how many came before it.
 */
public final class TopK {
    public static final int BITS = 11;
    public static final int BINS = 1 << BITS;

    private TopK() {}

    /** The ordering key of one element: the bits of |τ| (+0 for ±0). */
    public static long key(double tau) {
        return Double.doubleToRawLongBits(Math.abs(tau)) & Long.MAX_VALUE;
    }

    /**
     * The result: keep keys above {@code key}; of those equal to it, the first {@code needEq} by index (all when
     * needEq < 0). {@code eqBeforeUnit[u]} counts equal keys before unit u (units of {@code unit} elements).
     */
    public record Cut(long key, long needEq, long unit, long[] eqBeforeUnit) implements Serializable {
        public static Cut all() { return new Cut(-1, -1, 0, null); }

        public static Cut none() { return new Cut(Long.MAX_VALUE, 0, 0, null); }

        /** Whether equal keys are cut partly (then a slice must know how many equal keys precede it). */
        public boolean partial() { return needEq >= 0 && key >= 0 && key != Long.MAX_VALUE; }

        /** Equal keys before element {@code first} when {@code first} starts a unit; -1 otherwise. */
        public long eqBefore(long first) {
            if (!partial()) return 0;
            if (eqBeforeUnit == null || first % unit != 0) return -1;
            return eqBeforeUnit[(int) (first / unit)];
        }

        /** Marks keep[j] for τ[0..count) (elements from a start with {@code eqBefore} equal keys before it); returns the new count. */
        public long mark(double[] tau, int count, long eqBefore, boolean[] keep) {
            long seen = eqBefore;
            for (int j = 0; j < count; j++) {
                long k = TopK.key(tau[j]);
                if (k > key) keep[j] = true;
                else if (k == key) keep[j] = needEq < 0 || seen++ < needEq;
                else keep[j] = false;
            }
            return seen;
        }
    }

    /** The driver's state of one search for the k largest of n. */
    public static final class Search implements Serializable {
        private final long k, n;
        private int fixed = 1;       // high bits fixed so far (bit 63 of |τ| is 0)
        private long prefix = 0;     // the fixed bits, in place
        private long above = 0;      // elements with a key above every key matching the prefix
        private Cut cut;
        private long equal;          // elements equal to the threshold (when found)

        public Search(long k, long n) {
            this.k = k;
            this.n = n;
            if (k >= n) cut = Cut.all();
            else if (k <= 0) cut = Cut.none();
        }

        public boolean done() { return cut != null; }

        public Cut cut() { return cut; }

        public long k() { return k; }

        /** Whether tie-breaking needs the per-unit equal counts (some, not all, of the equal keys are kept). */
        public boolean needsEqualCounts() { return cut != null && cut.partial() && k - above < equal; }

        /** The bin of {@code key} in this pass, or -1 when it does not match the prefix. */
        public int bin(long key) {
            if (fixed < 64 && (key >>> (64 - fixed)) != (prefix >>> (64 - fixed))) return -1;
            int shift = Math.max(0, 64 - fixed - BITS);
            return (int) ((key >>> shift) & (BINS - 1)) & ((1 << Math.min(BITS, 64 - fixed)) - 1);
        }

        /** Takes one pass's histogram: counts, min and max key per bin. */
        public void advance(Histogram h) {
            int width = Math.min(BITS, 64 - fixed);
            int shift = 64 - fixed - width;
            for (int b = (1 << width) - 1; b >= 0; b--) {
                long c = h.count[b];
                if (c == 0) continue;
                if (above + c >= k) {
                    prefix |= ((long) b) << shift;
                    fixed += width;
                    if (h.min[b] == h.max[b] || fixed >= 64) {
                        equal = c;
                        long need = k - above;
                        cut = new Cut(h.min[b], need == c ? -1 : need, 0, null);
                    }
                    return;
                }
                above += c;
            }
            throw new IllegalStateException("top-" + k + " of " + n + ": the histogram holds fewer elements than expected");
        }

        /** The cut with its per-unit equal counts ({@code counts[u]}: equal keys in unit u). */
        public void setEqualCounts(long unit, long[] counts) {
            long[] before = new long[counts.length];
            long s = 0;
            for (int u = 0; u < counts.length; u++) {
                before[u] = s;
                s += counts[u];
            }
            cut = new Cut(cut.key(), cut.needEq(), unit, before);
        }
    }

    /** One pass's histogram of the keys matching a search's prefix, mergeable across slices. */
    public static final class Histogram implements Serializable {
        final long[] count = new long[BINS], min = new long[BINS], max = new long[BINS];

        public Histogram() {
            java.util.Arrays.fill(min, Long.MAX_VALUE);
            java.util.Arrays.fill(max, Long.MIN_VALUE);
        }

        public void add(Search s, double[] tau, int count) {
            for (int j = 0; j < count; j++) {
                long k = key(tau[j]);
                int b = s.bin(k);
                if (b < 0) continue;
                this.count[b]++;
                if (k < min[b]) min[b] = k;
                if (k > max[b]) max[b] = k;
            }
        }

        public Histogram merge(Histogram o) {
            for (int b = 0; b < BINS; b++) {
                count[b] += o.count[b];
                min[b] = Math.min(min[b], o.min[b]);
                max[b] = Math.max(max[b], o.max[b]);
            }
            return this;
        }
    }
}
