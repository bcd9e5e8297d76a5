package io.weightlab.common.fed;

import io.weightlab.common.transform.Samplers;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;

import static io.weightlab.common.fed.ClientMoments.squaredDifference;

import java.io.Serializable;
import java.util.List;

/**
 * One output tensor of a round, element range by element range: for each step of at most {@code stepElements}
 * positions, every client's values at those positions are read (ranged reads, never the whole tensor), clipped
 * towards the reference when asked, combined by the aggregator and mixed with the reference (conservative
 * correction). Memory: K x step doubles, with step chosen by the job as budget / K, so it does not grow with the
 * number of clients. The variance correction, which needs the whole tensor's result first, is applied when the
 * computed slices are written ({@link StagedSliceAction}).
 */
public final class TensorAggregation implements Serializable {
    private static final long serialVersionUID = 1L;

    private final List<TensorInfo> clients;
    private final double[] weights;
    private final double[] clip;          // per-client factor on x − ref, or null
    private final TensorInfo reference;   // previous global, or null
    private final ElementAggregator aggregator;
    private final double selfWeight;      // conservative mixing with the reference
    private final int stepElements;
    private final boolean allLocal;       // every client and the reference on a local file system (read step below)

    public TensorAggregation(List<TensorInfo> clients, double[] weights, double[] clip, TensorInfo reference, ElementAggregator aggregator,
                           double selfWeight, int stepElements) {
        this.clients = List.copyOf(clients);
        this.weights = weights.clone();
        this.clip = clip == null ? null : clip.clone();
        this.reference = reference;
        this.aggregator = aggregator;
        this.selfWeight = selfWeight;
        this.stepElements = Math.max(1, stepElements);
        this.allLocal = (reference == null || isLocal(reference.file())) && this.clients.stream().allMatch(t -> isLocal(t.file()));
    }

    public int clientCount() { return clients.size(); }

    /** Per-tensor facts the report needs, mergeable across slices. */
    public static final class Diagnostics implements Serializable {
        public final MomentAccumulator output = new MomentAccumulator();   // of y, before the variance correction
        public double spread;          // Σ_k p_k Σ_i (x_k,i − y_i)²
        public double meanUpdateSq;    // Σ_i (y_i − r_i)²
        public final double[] clientSpread, updateSq; // Σ_i (x_k,i − y_i)², Σ_i (x_k,i − r_i)²

        public Diagnostics(int k) {
            clientSpread = new double[k];
            updateSq = new double[k];
        }

        public Diagnostics merge(Diagnostics o) {
            output.merge(o.output);
            spread += o.spread;
            meanUpdateSq += o.meanUpdateSq;
            for (int i = 0; i < clientSpread.length; i++) {
                clientSpread[i] += o.clientSpread[i];
                updateSq[i] += o.updateSq[i];
            }
            return this;
        }

        /**
         * cos(u_k, m) of client k's update u = x − r and the mean update m = y − r from sums over any set of tensors,
         * by the polarization identity u·m = (‖u‖² + ‖m‖² − ‖u − m‖²) / 2 with u − m = x − y: the three squares are
         * what the round sums anyway, so no pass computes the dot product. Its absolute error is a few ulps of
         * (‖u‖² + ‖m‖² + ‖u − m‖²) / (‖u‖‖m‖), below 1e-12 unless the two norms differ by more than 1e3
         * (docs/algorithms.md, federated diagnostics); NaN when either norm is zero.
         */
        public static double cosineToMean(double updateSq, double meanUpdateSq, double clientSpread) {
            if (!(updateSq > 0 && meanUpdateSq > 0)) return Double.NaN;
            double dot = 0.5 * ((updateSq + meanUpdateSq) - clientSpread);
            return Math.max(-1.0, Math.min(1.0, dot / Math.sqrt(updateSq * meanUpdateSq)));
        }
    }

    /** Elements [first, first + count) of the output into {@code out}; accumulates {@code diag} when not null. */
    public void compute(RangeReader r, long first, int count, double[] out, Diagnostics diag) {
        compute(r, first, count, out, diag, null, false);
    }

    /**
     * As {@link #compute(RangeReader, long, int, double[], Diagnostics)}, and when {@code seen} is not null also
     * validates every client's values as read (before clipping) into it: NaN/Inf, update norms, and the full moments
     * when {@code fullMoments}. This is the one-read round: the values are validated in the pass that aggregates them.
     * <p>
     * Each step is read as raw bytes, one ranged read per client, and then decoded, validated, combined and diagnosed
     * in blocks small enough that the K clients' decoded values stay in cache while every pass over them runs: the
     * arithmetic is a few passes over K values per position, and done over whole steps of K decoded double arrays it
     * was bound by memory traffic. Buffers are allocated once per call. Local files are read in steps of at most
     * {@value #LOCAL_READ_STEP} elements per client, whatever the memory budget allows: the K raw buffers then stay in
     * cache between the read and the decode (a pread is a system call, not a request), 13% less time per client
     * value in a same-machine loop over 32 clients (BENCHMARKS.md, fedavg); object stores keep the budget's step,
     * since each step is a ranged GET per client.
     */
    public void compute(RangeReader r, long first, int count, double[] out, Diagnostics diag, ClientMoments seen, boolean fullMoments) {
        int k = clients.size();
        int step = allLocal ? Math.min(stepElements, LOCAL_READ_STEP) : stepElements;
        int width = Math.min(count, step);
        int block = Math.min(width, Math.max(512, (1 << 16) / k));
        byte[][] raw = new byte[k][];
        for (int c = 0; c < k; c++) raw[c] = new byte[Math.multiplyExact(width, clients.get(c).dtype().byteSize())];
        byte[] rawRef = reference == null ? null : new byte[Math.multiplyExact(width, reference.dtype().byteSize())];
        double[][] xs = new double[k][block];
        double[] ref = reference == null ? null : new double[block];
        double[] y = new double[block];
        // the one-read pass has each client's Σ (x − r)² over the block from validation: diagnose reuses it
        double[] blockSq = seen != null && ref != null && clip == null && diag != null ? new double[k] : null;
        for (int off = 0; off < count; off += step) {
            int len = Math.min(step, count - off);
            long from = first + off;
            if (rawRef != null) readRaw(r, reference, from, len, rawRef);
            for (int c = 0; c < k; c++) readRaw(r, clients.get(c), from, len, raw[c]);
            for (int b = 0; b < len; b += block) {
                int n = Math.min(block, len - b);
                if (ref != null) {
                    ElementDecoder.decode(reference.dtype(), rawRef, b * reference.dtype().byteSize(), n, ref, 0);
                    if (seen != null && fullMoments) seen.addReference(ref, n);
                }
                for (int c = 0; c < k; c++) {
                    double[] x = xs[c];
                    DType dt = clients.get(c).dtype();
                    ElementDecoder.decode(dt, raw[c], b * dt.byteSize(), n, x, 0);
                    if (seen != null) {
                        double sq = seen.add(c, x, n, ref, fullMoments);
                        if (blockSq != null) blockSq[c] = sq;
                    }
                    if (clip != null && clip[c] != 1.0) for (int i = 0; i < n; i++) x[i] = ref[i] + clip[c] * (x[i] - ref[i]);
                }
                aggregator.combine(xs, weights, n, y);
                if (selfWeight > 0) for (int i = 0; i < n; i++) y[i] = selfWeight * ref[i] + (1 - selfWeight) * y[i];
                if (diag != null) diagnose(xs, ref, y, n, blockSq, diag);
                System.arraycopy(y, 0, out, off + b, n);
            }
        }
    }

    /** Elements per client and read step for local files (see {@link #compute}). */
    static final int LOCAL_READ_STEP = 1 << 15;

    private static boolean isLocal(String file) {
        String scheme = new org.apache.hadoop.fs.Path(file).toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }

    /** The stored bytes of elements [from, from + len) of {@code t} into {@code dst}, one ranged read. */
    private static void readRaw(RangeReader r, TensorInfo t, long from, int len, byte[] dst) {
        if (!t.dtype().isDecodable()) throw new ElementDecoder.UnsupportedDTypeException(t.dtype());
        r.read(t.file(), t.dataBegin() + t.dtype().byteLength(from), dst, 0, len * t.dtype().byteSize());
    }

    /**
     * One pass over each client's values for its spread Σ (x − y)² and, with a reference, its update's Σ (x − r)²
     * unless validation already summed it ({@code blockSq}); the cosine to the mean update follows from these
     * ({@link Diagnostics#cosineToMean}).
     */
    private void diagnose(double[][] xs, double[] ref, double[] y, int len, double[] blockSq, Diagnostics d) {
        d.output.addBlock(y, 0, len);
        if (ref != null) {
            double m0 = 0, m1 = 0;
            int i = 0;
            for (; i + 1 < len; i += 2) {
                double a = y[i] - ref[i], b = y[i + 1] - ref[i + 1];
                m0 += a * a;
                m1 += b * b;
            }
            if (i < len) m0 += (y[i] - ref[i]) * (y[i] - ref[i]);
            d.meanUpdateSq += m0 + m1;
        }
        for (int c = 0; c < xs.length; c++) {
            double s = squaredDifference(xs[c], y, len);
            d.clientSpread[c] += s;
            d.spread += weights[c] * s;
            if (ref != null) d.updateSq[c] += blockSq != null ? blockSq[c] : squaredDifference(xs[c], ref, len);
        }
    }

    /** One line for the report and the provenance. */
    public String describe() {
        return aggregator.describe() + " of " + clients.size() + " clients" + (clip != null ? ", clipped" : "")
                + (selfWeight > 0 ? Samplers.fmt(", mixed with the reference (c=%s)", selfWeight) : "");
    }
}
