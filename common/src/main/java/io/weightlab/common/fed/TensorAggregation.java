package io.weightlab.common.fed;

import io.weightlab.common.transform.Samplers;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;

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

    public TensorAggregation(List<TensorInfo> clients, double[] weights, double[] clip, TensorInfo reference, ElementAggregator aggregator,
                           double selfWeight, int stepElements) {
        this.clients = List.copyOf(clients);
        this.weights = weights.clone();
        this.clip = clip == null ? null : clip.clone();
        this.reference = reference;
        this.aggregator = aggregator;
        this.selfWeight = selfWeight;
        this.stepElements = Math.max(1, stepElements);
    }

    public int clientCount() { return clients.size(); }

    /** Per-tensor facts the report needs, mergeable across slices. */
    public static final class Diagnostics implements Serializable {
        public final MomentAccumulator output = new MomentAccumulator();   // of y, before the variance correction
        public double spread;          // Σ_k p_k Σ_i (x_k,i − x̄_i)²
        public double meanUpdateSq;    // Σ_i (x̄_i − r_i)²
        public final double[] dotWithMean, updateSq; // Σ_i (x_k,i − r_i)(x̄_i − r_i), Σ_i (x_k,i − r_i)²

        public Diagnostics(int k) {
            dotWithMean = new double[k];
            updateSq = new double[k];
        }

        public Diagnostics merge(Diagnostics o) {
            output.merge(o.output);
            spread += o.spread;
            meanUpdateSq += o.meanUpdateSq;
            for (int i = 0; i < dotWithMean.length; i++) {
                dotWithMean[i] += o.dotWithMean[i];
                updateSq[i] += o.updateSq[i];
            }
            return this;
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
     * was bound by memory traffic. Buffers are allocated once per call.
     */
    public void compute(RangeReader r, long first, int count, double[] out, Diagnostics diag, ClientMoments seen, boolean fullMoments) {
        int k = clients.size();
        int width = Math.min(count, stepElements);
        int block = Math.min(width, Math.max(512, (1 << 16) / k));
        byte[][] raw = new byte[k][];
        for (int c = 0; c < k; c++) raw[c] = new byte[Math.multiplyExact(width, clients.get(c).dtype().byteSize())];
        byte[] rawRef = reference == null ? null : new byte[Math.multiplyExact(width, reference.dtype().byteSize())];
        double[][] xs = new double[k][block];
        double[] ref = reference == null ? null : new double[block];
        double[] y = new double[block];
        for (int off = 0; off < count; off += stepElements) {
            int len = Math.min(stepElements, count - off);
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
                    if (seen != null) seen.add(c, x, n, ref, fullMoments);
                    if (clip != null && clip[c] != 1.0) for (int i = 0; i < n; i++) x[i] = ref[i] + clip[c] * (x[i] - ref[i]);
                }
                aggregator.combine(xs, weights, n, y);
                if (selfWeight > 0) for (int i = 0; i < n; i++) y[i] = selfWeight * ref[i] + (1 - selfWeight) * y[i];
                if (diag != null) diagnose(xs, ref, y, n, diag);
                System.arraycopy(y, 0, out, off + b, n);
            }
        }
    }

    /** The stored bytes of elements [from, from + len) of {@code t} into {@code dst}, one ranged read. */
    private static void readRaw(RangeReader r, TensorInfo t, long from, int len, byte[] dst) {
        if (!t.dtype().isDecodable()) throw new ElementDecoder.UnsupportedDTypeException(t.dtype());
        r.read(t.file(), t.dataBegin() + t.dtype().byteLength(from), dst, 0, len * t.dtype().byteSize());
    }

    /** One pass over each client's values for its spread term and, with a reference, its update's dot and square. */
    private void diagnose(double[][] xs, double[] ref, double[] y, int len, Diagnostics d) {
        d.output.addBlock(y, 0, len);
        if (ref != null) {
            for (int i = 0; i < len; i++) {
                double m = y[i] - ref[i];
                d.meanUpdateSq += m * m;
            }
        }
        for (int c = 0; c < xs.length; c++) {
            double[] x = xs[c];
            // two interleaved partial sums per quantity: independent add chains, which is what bounds these loops
            double s0 = 0, s1 = 0;
            int i = 0;
            if (ref == null) {
                for (; i + 1 < len; i += 2) {
                    double e0 = x[i] - y[i], e1 = x[i + 1] - y[i + 1];
                    s0 += e0 * e0;
                    s1 += e1 * e1;
                }
                for (; i < len; i++) {
                    double e = x[i] - y[i];
                    s0 += e * e;
                }
            } else {
                double dot0 = 0, dot1 = 0, sq0 = 0, sq1 = 0;
                for (; i + 1 < len; i += 2) {
                    double e0 = x[i] - y[i], u0 = x[i] - ref[i], e1 = x[i + 1] - y[i + 1], u1 = x[i + 1] - ref[i + 1];
                    s0 += e0 * e0;
                    s1 += e1 * e1;
                    dot0 += u0 * (y[i] - ref[i]);
                    dot1 += u1 * (y[i + 1] - ref[i + 1]);
                    sq0 += u0 * u0;
                    sq1 += u1 * u1;
                }
                for (; i < len; i++) {
                    double e = x[i] - y[i], u = x[i] - ref[i];
                    s0 += e * e;
                    dot0 += u * (y[i] - ref[i]);
                    sq0 += u * u;
                }
                d.dotWithMean[c] += dot0 + dot1;
                d.updateSq[c] += sq0 + sq1;
            }
            d.spread += weights[c] * (s0 + s1);
        }
    }

    /** One line for the report and the provenance. */
    public String describe() {
        return aggregator.describe() + " of " + clients.size() + " clients" + (clip != null ? ", clipped" : "")
                + (selfWeight > 0 ? Samplers.fmt(", mixed with the reference (c=%s)", selfWeight) : "");
    }
}
