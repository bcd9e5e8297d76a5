package io.weightlab.common.fed;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.model.TensorInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The round's verdict on its clients. Every check records a reason per client (its first one counts); after each
 * stage the policy decides: {@link BadClients#FAIL} fails the round with every reason, {@link BadClients#DROP} goes on
 * with the rest unless fewer than --min-clients / --min-fraction of the manifest remain (rule: MinClients).
 */
public final class ClientValidation {
    /** {@code --bad-clients}, {@code --min-clients}, {@code --min-fraction}. */
    public record Policy(BadClients badClients, int minClients, double minFraction) implements java.io.Serializable {}

    private final RoundManifest manifest;
    private final Policy policy;
    private final Map<String, String> problems = new LinkedHashMap<>();

    public ClientValidation(RoundManifest manifest, Policy policy) {
        this.manifest = manifest;
        this.policy = policy;
    }

    public RoundManifest manifest() { return manifest; }

    /** Records why a client cannot take part; a client keeps its first reason. */
    public void reject(String id, String why) { problems.putIfAbsent(id, why); }

    public boolean isRejected(String id) { return problems.containsKey(id); }

    /** Client id to reason, in the order found. */
    public Map<String, String> problems() { return Collections.unmodifiableMap(problems); }

    /** The ids, in their order, that no check has rejected. */
    public List<String> survivors(Collection<String> ids) {
        List<String> out = new ArrayList<>();
        for (String id : ids) if (!isRejected(id)) out.add(id);
        return out;
    }

    /** Rule PositiveExamples, when the weighting reads examples: false (and recorded) for a client without any. */
    public boolean hasPositiveExamples(ClientSpec c, boolean weightsByExamples) {
        if (!weightsByExamples || c.examples() > 0) return true;
        reject(c.id(), "examples must be > 0, got " + c.examples() + " (rule: PositiveExamples)");
        return false;
    }

    /** Fails the round with every reason, or checks that enough clients remain (rule: MinClients) after dropping. */
    public void decide(int remaining, String when) {
        if (problems.isEmpty()) return;
        String sb = RoundManifest.problemList(problems);
        if (policy.badClients() == BadClients.FAIL) throw new UsageException(manifest.source() + ": the round fails " + when + " (--bad-clients fail):" + sb);
        int total = manifest.clients().size();
        if (remaining < Math.max(1, policy.minClients()) || remaining < policy.minFraction() * total) {
            throw new UsageException(manifest.source() + ": only " + remaining + " of " + total + " clients remain " + when + ", below --min-clients "
                    + policy.minClients() + " / --min-fraction " + policy.minFraction() + " (rule: MinClients):" + sb);
        }
    }

    /** Why a client cannot be averaged with the template (rules SameTensors, SameShapes, SameDtypeKind), or null. */
    public static String mismatch(Checkpoint template, Checkpoint c) {
        if (c.tensors().size() != template.tensors().size()) {
            return "has " + c.tensors().size() + " tensors, the template " + template.tensors().size() + " (rule: SameTensors)";
        }
        for (TensorInfo t : template.tensors()) {
            TensorInfo x = c.tensor(t.name());
            if (x == null) return "lacks '" + t.name() + "' (rule: SameTensors)";
            if (!Arrays.equals(x.shape(), t.shape())) return "'" + t.name() + "' is " + x.shapeString() + ", the template's " + t.shapeString() + " (rule: SameShapes)";
            if (x.dtype().isFloatingPoint() != t.dtype().isFloatingPoint()) return "'" + t.name() + "' is " + x.dtype() + ", the template's " + t.dtype() + " (rule: SameDtypeKind)";
        }
        return null;
    }

    /**
     * Rule FiniteValues from the moments pass: a client with NaN/Inf in any tensor (the first such tensor, in the
     * order of {@code byTensor}, is named). {@code clients} are the pass's clients, index k = position.
     */
    public void rejectNonFinite(List<String> ids, List<Checkpoint> clients, Map<String, ClientMoments> byTensor) {
        for (Map.Entry<String, ClientMoments> e : byTensor.entrySet()) {
            for (int k = 0; k < ids.size(); k++) {
                long bad = e.getValue().nonFinite(k);
                if (bad > 0) reject(ids.get(k), "'" + e.getKey() + "' holds " + bad + " NaN/Inf value(s) in " + clients.get(k).root() + " (rule: FiniteValues)");
            }
        }
    }

    /** Rule OutlierUpdate: among the clients not yet rejected, those whose update norm the policy rejects. */
    public void rejectOutliers(List<String> ids, double[] norms, RobustPolicy robust) {
        if (robust.rejectAbove() == null) return;
        List<Integer> finite = new ArrayList<>();
        for (int k = 0; k < ids.size(); k++) if (!isRejected(ids.get(k))) finite.add(k);
        double[] fn = new double[finite.size()];
        for (int i = 0; i < fn.length; i++) fn[i] = norms[finite.get(i)];
        boolean[] rejected = robust.reject(fn);
        for (int i = 0; i < fn.length; i++) {
            if (rejected[i]) reject(ids.get(finite.get(i)), String.format("update norm %.6g is an outlier (> median + %s x 1.4826 MAD; rule: OutlierUpdate)", fn[i], robust.rejectAbove()));
        }
    }
}
