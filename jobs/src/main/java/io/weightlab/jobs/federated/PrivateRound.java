package io.weightlab.jobs.federated;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fed.AdaptiveClip;
import io.weightlab.common.fed.GaussianNoise;
import io.weightlab.common.fed.PrivacyLedger;
import io.weightlab.common.fed.RdpAccountant;
import io.weightlab.common.fed.Weighting;
import io.weightlab.jobs.spark.CheckpointSiblings;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Central differential privacy of a full-checkpoint round (Flower's DifferentialPrivacyServerSideFixedClipping):
 * every update clipped to τ by the round's clip path, the uniform mean of the K survivors noised with N(0, (zτ/K)²),
 * and the privacy spent composed over rounds with the RDP accountant of the sampled Gaussian (rate q). The ledger
 * comes from {@code --server-state}/privacy.json and goes to {@code server_state/privacy.json}; a round that would
 * exceed {@code --epsilon-budget} is refused before any client is read.
 */
final class PrivateRound {
    private final FedAvgJob.Dp dp;
    /** The clip norm of this round: --clip TAU, or with --clip adaptive the ledger's (or the initial) C_t. */
    private final double tau;
    private final AdaptiveClip adaptive;
    private Double clipNext;
    private double countStddev;
    private double noisedFraction = Double.NaN;
    private double meanMultiplier;
    private final double q;
    private final PrivacyLedger before;
    private final PrivacyLedger after;
    private final RdpAccountant.Spent spent;
    private GaussianNoise noise;
    private int clients;

    private PrivateRound(FedAvgJob.Dp dp, double tau, AdaptiveClip adaptive, double q, PrivacyLedger before) {
        this.dp = dp;
        this.tau = tau;
        this.adaptive = adaptive;
        this.q = q;
        this.before = before;
        this.after = before.plusStep(q, dp.noiseMultiplier());
        this.spent = after.epsilon(dp.delta());
    }

    /** Null without --dp; otherwise the options checked and the budget enforced (usage errors, exit 2, nothing written). */
    static PrivateRound of(FedAvgJob.Options o, Configuration conf) {
        FedAvgJob.Dp dp = o.dp();
        if (dp == null) return null;
        if (!"gaussian".equals(dp.mechanism())) throw new UsageException("--dp must be 'gaussian', got '" + dp.mechanism() + "'");
        if (!(dp.noiseMultiplier() >= 0) || Double.isInfinite(dp.noiseMultiplier())) {
            throw new UsageException("--dp gaussian needs --noise-multiplier z >= 0, got " + dp.noiseMultiplier());
        }
        AdaptiveClip adaptive = AdaptiveClip.is(o.clip()) ? AdaptiveClip.parse(o.clip()) : null;
        double tau = Double.NaN;
        if (adaptive == null) {
            try {
                tau = o.clip() == null ? Double.NaN : Double.parseDouble(o.clip());
            } catch (NumberFormatException e) {
                throw new UsageException("--dp gaussian needs --clip TAU (a number) or --clip adaptive: '" + o.clip() + "' depends on the clients' data unnoised (rule: DpFixedClip)");
            }
            if (!(tau > 0) || Double.isInfinite(tau)) throw new UsageException("--dp gaussian needs --clip TAU, a positive number, or --clip adaptive (rule: DpFixedClip)");
        }
        double q = dp.samplingRate() == null ? 1.0 : dp.samplingRate();
        if (!(q > 0 && q <= 1)) throw new UsageException("--sampling-rate must be in (0, 1], got " + q);
        if (!(dp.delta() > 0 && dp.delta() < 1)) throw new UsageException("--delta must be in (0, 1), got " + dp.delta());
        if (!o.method().equals("fedavg")) throw new UsageException("--dp gaussian: the noise zτ/K is calibrated to the mean; --method " + o.method() + " has another sensitivity");
        if (o.weighting() != Weighting.UNIFORM) {
            throw new UsageException("--dp gaussian: the noise zτ/K assumes every client weighs 1/K; add --weighting uniform (rule: DpUniformWeights)");
        }
        if (o.varianceCorrection() != null || o.rejectAbove() != null) {
            throw new UsageException("--dp gaussian: --variance-correction and --reject-outliers use the clients' data outside the noised mean (rule: DpPostProcessingOnly)");
        }
        if (dp.seed() == null && !dp.secureNoise()) {
            throw new UsageException("--dp gaussian needs --seed S (reproducible noise: keep S secret) or --dp-secure-noise");
        }
        PrivacyLedger before = PrivacyLedger.empty();
        if (dp.stateIn() != null) {
            String file = dp.stateIn().replaceAll("/+$", "") + "/" + PrivacyLedger.FILE;
            if (exists(conf, file)) before = PrivacyLedger.parse(file, new String(CheckpointSiblings.readSmall(conf, file), java.nio.charset.StandardCharsets.UTF_8));
        }
        if (adaptive != null) tau = before.clipNext() != null ? before.clipNext() : adaptive.initial();
        PrivateRound p = new PrivateRound(dp, tau, adaptive, q, before);
        if (dp.epsilonBudget() != null && !(p.spent.epsilon() <= dp.epsilonBudget())) {
            throw new UsageException((dp.stateIn() == null ? "the first DP round" : dp.stateIn()) + ": this round would bring ε to " + p.spent.epsilon()
                    + " (δ " + dp.delta() + ", " + p.after.steps() + " rounds of z " + dp.noiseMultiplier() + ", q " + q + "), above --epsilon-budget "
                    + dp.epsilonBudget() + "; nothing written (rule: PrivacyBudget)");
        }
        return p;
    }

    private static boolean exists(Configuration conf, String file) {
        Path p = new Path(file);
        try {
            return p.getFileSystem(conf).exists(p);
        } catch (IOException e) {
            throw new UsageException(file + ": cannot check: " + e.getMessage());
        }
    }

    /** The clip norm τ of this round, as --clip's number for the clip path. */
    String clip() { return Double.toString(tau); }

    /**
     * Adaptive clipping, on the driver once the kept clients' update norms are known: the noised unclipped fraction
     * (its N(0, 1) draw from (seed, round@step, "clipped_count") or SecureRandom) and next round's C.
     */
    void observe(double[] norms, String round) {
        if (adaptive == null) return;
        countStddev = adaptive.countStddev(norms.length, dp.noiseMultiplier());
        AdaptiveClip.effectiveMultiplier(dp.noiseMultiplier(), countStddev); // z < 2σ_b, before anything is written
        double[] g = new double[1];
        new GaussianNoise(1.0, dp.seed() == null ? 0 : dp.seed(), round + "@" + after.steps(), dp.secureNoise()).addTo("clipped_count", 0, 1, g);
        noisedFraction = AdaptiveClip.noisedFraction(tau, norms, countStddev, g[0]);
        clipNext = adaptive.next(tau, noisedFraction);
    }

    /**
     * The noise once the number of aggregated clients K is known. Its streams depend on the round's label and on the
     * ledger's step number, so two rounds of a chain never share noise even when their manifests reuse a label,
     * while a re-run of the same round from the same state draws the same noise.
     */
    GaussianNoise noise(int k, String round) {
        clients = k;
        meanMultiplier = adaptive == null ? dp.noiseMultiplier() : AdaptiveClip.effectiveMultiplier(dp.noiseMultiplier(), countStddev);
        noise = new GaussianNoise(GaussianNoise.std(meanMultiplier, tau, k), dp.seed() == null ? 0 : dp.seed(), round + "@" + after.steps(),
                dp.secureNoise());
        return noise;
    }

    /** The report's "dp" block: z, τ, q, K, σ, δ, ε after this round (composed), the order that gives it, the budget. */
    Map<String, Object> report() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("mechanism", "gaussian");
        r.put("noise_multiplier", dp.noiseMultiplier());
        r.put("clip", tau);
        r.put("clip_mode", adaptive == null ? "fixed" : "adaptive");
        if (adaptive != null) {
            r.put("clip_next", clipNext);
            r.put("clip_target_quantile", adaptive.quantile());
            r.put("clip_lr", adaptive.lr());
            r.put("clipped_count_stddev", countStddev);
            r.put("unclipped_fraction_noised", noisedFraction);
            r.put("noise_multiplier_mean", meanMultiplier);
        }
        r.put("sampling_rate", q);
        r.put("clients", clients);
        r.put("noise_std", noise == null ? null : noise.std());
        r.put("secure_noise", dp.secureNoise());
        r.put("delta", dp.delta());
        r.put("epsilon", spent.epsilon());
        r.put("rdp_order", spent.order());
        r.put("epsilon_before", before.steps() == 0 ? 0.0 : before.epsilon(dp.delta()).epsilon());
        r.put("rounds_composed", after.steps());
        r.put("epsilon_budget", dp.epsilonBudget());
        return r;
    }

    /** server_state/privacy.json after this round. */
    String ledgerJson(String round) {
        return ledgerAfter(round).json(dp.delta());
    }

    /** Every round of the ledger, this one included: the rows the round page draws. */
    List<Map<String, Object>> roundsAfter(String round) {
        return ledgerAfter(round).rounds();
    }

    private PrivacyLedger ledgerAfter(String round) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("round", round);
        row.put("sampling_rate", q);
        row.put("noise_multiplier", dp.noiseMultiplier());
        row.put("clip", tau);
        row.put("clients", clients);
        row.put("epsilon", spent.epsilon());
        if (adaptive != null) row.put("clip_next", clipNext);
        return after.plusRound(row).withClipNext(clipNext);
    }
}
