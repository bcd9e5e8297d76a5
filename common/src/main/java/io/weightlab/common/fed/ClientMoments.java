package io.weightlab.common.fed;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.TensorValues;
import io.weightlab.common.stats.MomentAccumulator;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The validation pass's result for one tensor (or a slice of it), per client k: NaN/Inf count, squared update norm
 * ‖x_k − reference‖² over finite differences, and, when the variance correction needs them, the full moments of the
 * client's and the reference's values. Slices of a tensor merge into the tensor's result in any order.
 */
public final class ClientMoments implements Serializable {
    private final MomentAccumulator[] moments;
    private final double[] updateSq;
    private final long[] nonFinite;
    private MomentAccumulator reference;

    public ClientMoments(int clients) {
        moments = new MomentAccumulator[clients];
        for (int i = 0; i < clients; i++) moments[i] = new MomentAccumulator();
        updateSq = new double[clients];
        nonFinite = new long[clients];
    }

    /** Client k's moments (empty unless read with full moments). */
    public MomentAccumulator moments(int k) { return moments[k]; }

    public double updateSq(int k) { return updateSq[k]; }

    public long nonFinite(int k) { return nonFinite[k]; }

    /** The reference's moments, or null (no reference, or read without full moments). */
    public MomentAccumulator reference() { return reference; }

    /** Adds another slice's result of the same tensor and clients into this one. */
    public ClientMoments merge(ClientMoments o) {
        for (int i = 0; i < moments.length; i++) {
            moments[i].merge(o.moments[i]);
            updateSq[i] += o.updateSq[i];
            nonFinite[i] += o.nonFinite[i];
        }
        if (o.reference != null) reference = reference == null ? o.reference : reference.merge(o.reference);
        return this;
    }

    /**
     * Elements [first, first + count) of {@code tensor} in every client (and the reference, when given): NaN/Inf
     * always, update norms when there is a reference, full moments when {@code full}.
     */
    public static ClientMoments read(RangeReader reader, String tensor, long first, int count, List<Checkpoint> clients, Checkpoint ref, boolean full) {
        ClientMoments cm = new ClientMoments(clients.size());
        double[] r = null;
        if (ref != null) {
            r = TensorValues.read(reader, ref.tensor(tensor), first, first + count, null);
            if (full) cm.addReference(r, r.length);
        }
        for (int k = 0; k < clients.size(); k++) {
            double[] x = TensorValues.read(reader, clients.get(k).tensor(tensor), first, first + count, null);
            cm.add(k, x, x.length, r, full);
        }
        return cm;
    }

    /** The reference's values {@code r[0..len)} into its moments (only when the full moments are wanted). */
    public void addReference(double[] r, int len) {
        if (reference == null) reference = new MomentAccumulator();
        reference.addBlock(r, 0, len);
    }

    /**
     * Client k's values {@code x[0..len)} at the same positions as {@code ref[0..len)} (or null): NaN/Inf count,
     * squared update over finite differences, and the full moments when {@code full}. Consecutive pieces of a slice
     * add up to the slice's result, so the aggregation pass can validate the values it has already read.
     * Returns this block's Σ (x − ref)² over finite differences (0 without a reference), which the aggregation's
     * diagnostics reuse.
     */
    public double add(int k, double[] x, int len, double[] ref, boolean full) {
        if (full) {
            moments[k].addBlock(x, 0, len);
            nonFinite[k] = moments[k].nonFiniteCount();
        }
        if (ref != null) {
            double s = squaredDifference(x, ref, len);
            // a finite sum means every difference, hence every value of x, was finite: the filtered loop only on a hit
            if (Double.isFinite(s)) {
                updateSq[k] += s;
                return s;
            }
            double f = 0;
            for (int i = 0; i < len; i++) {
                double d = x[i] - ref[i];
                if (Double.isFinite(d)) f += d * d;
            }
            updateSq[k] += f;
            if (!full) nonFinite[k] += nonFiniteCount(x, len);
            return f;
        }
        if (!full) nonFinite[k] += nonFiniteCount(x, len);
        return 0;
    }

    /** Σ (x − r)² in four interleaved partial sums (four independent add chains instead of one). */
    static double squaredDifference(double[] x, double[] r, int len) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < len; i += 4) {
            double d0 = x[i] - r[i], d1 = x[i + 1] - r[i + 1], d2 = x[i + 2] - r[i + 2], d3 = x[i + 3] - r[i + 3];
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; i < len; i++) {
            double d = x[i] - r[i];
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Every client's whole-model update norm ‖x_k − reference‖ from the per-tensor results. */
    public static double[] updateNorms(Map<String, ClientMoments> byTensor, int clients) {
        double[] norms = new double[clients];
        for (ClientMoments cm : byTensor.values()) for (int k = 0; k < clients; k++) norms[k] += cm.updateSq[k];
        for (int k = 0; k < clients; k++) norms[k] = Math.sqrt(norms[k]);
        return norms;
    }

    /** Rule FiniteValues over a whole checkpoint (a LoRA adapter): the first tensor holding NaN/Inf, or null. */
    public static String nonFiniteProblem(RangeReader reader, Checkpoint c) {
        for (var t : c.tensors()) {
            double[] x = TensorValues.read(reader, t, 0, t.elementCount(), null);
            long bad = nonFiniteCount(x, x.length);
            if (bad > 0) return "'" + t.name() + "' holds " + bad + " NaN/Inf value(s) in " + c.root() + " (rule: FiniteValues)";
        }
        return null;
    }

    private static long nonFiniteCount(double[] x, int len) {
        // an all-ones exponent (NaN/±Inf) carries into the sign bit: one branch-free OR pass, the count only on a hit
        long probe = 0;
        for (int i = 0; i < len; i++) probe |= (Double.doubleToRawLongBits(x[i]) & 0x7ff0000000000000L) + 0x0010000000000000L;
        if (probe >= 0) return 0;
        long bad = 0;
        for (int i = 0; i < len; i++) if (!Double.isFinite(x[i])) bad++;
        return bad;
    }
}
