package io.weightlab.common.fed;

import io.weightlab.common.transform.Samplers;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
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
        int k = clients.size();
        double[][] xs = new double[k][];
        double[] y = new double[Math.min(count, stepElements)];
        for (int off = 0; off < count; off += stepElements) {
            int len = Math.min(stepElements, count - off);
            long from = first + off;
            double[] ref = reference == null ? null : TensorValues.read(r, reference, from, from + len, null);
            for (int c = 0; c < k; c++) {
                double[] x = TensorValues.read(r, clients.get(c), from, from + len, null);
                if (clip != null && clip[c] != 1.0) for (int i = 0; i < len; i++) x[i] = ref[i] + clip[c] * (x[i] - ref[i]);
                xs[c] = x;
            }
            aggregator.combine(xs, weights, len, y);
            if (selfWeight > 0) for (int i = 0; i < len; i++) y[i] = selfWeight * ref[i] + (1 - selfWeight) * y[i];
            if (diag != null) diagnose(xs, ref, y, len, diag);
            System.arraycopy(y, 0, out, off, len);
        }
    }

    private void diagnose(double[][] xs, double[] ref, double[] y, int len, Diagnostics d) {
        d.output.addBlock(y, 0, len);
        for (int c = 0; c < xs.length; c++) {
            double s = 0;
            for (int i = 0; i < len; i++) {
                double e = xs[c][i] - y[i];
                s += e * e;
            }
            d.spread += weights[c] * s;
        }
        if (ref == null) return;
        for (int i = 0; i < len; i++) {
            double m = y[i] - ref[i];
            d.meanUpdateSq += m * m;
        }
        for (int c = 0; c < xs.length; c++) {
            double dot = 0, sq = 0;
            for (int i = 0; i < len; i++) {
                double u = xs[c][i] - ref[i];
                dot += u * (y[i] - ref[i]);
                sq += u * u;
            }
            d.dotWithMean[c] += dot;
            d.updateSq[c] += sq;
        }
    }

    /** One line for the report and the provenance. */
    public String describe() {
        return aggregator.describe() + " of " + clients.size() + " clients" + (clip != null ? ", clipped" : "")
                + (selfWeight > 0 ? Samplers.fmt(", mixed with the reference (c=%s)", selfWeight) : "");
    }
}
