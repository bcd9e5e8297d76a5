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
            if (full) {
                cm.reference = new MomentAccumulator();
                cm.reference.addBlock(r, 0, r.length);
            }
        }
        for (int k = 0; k < clients.size(); k++) {
            double[] x = TensorValues.read(reader, clients.get(k).tensor(tensor), first, first + count, null);
            if (full) {
                cm.moments[k].addBlock(x, 0, x.length);
                cm.nonFinite[k] = cm.moments[k].nonFiniteCount();
            } else {
                cm.nonFinite[k] = nonFiniteCount(x);
            }
            if (r != null) {
                double s = 0;
                for (int i = 0; i < x.length; i++) {
                    double d = x[i] - r[i];
                    if (Double.isFinite(d)) s += d * d;
                }
                cm.updateSq[k] = s;
            }
        }
        return cm;
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
            long bad = nonFiniteCount(TensorValues.read(reader, t, 0, t.elementCount(), null));
            if (bad > 0) return "'" + t.name() + "' holds " + bad + " NaN/Inf value(s) in " + c.root() + " (rule: FiniteValues)";
        }
        return null;
    }

    private static long nonFiniteCount(double[] x) {
        long bad = 0;
        for (double v : x) if (!Double.isFinite(v)) bad++;
        return bad;
    }
}
