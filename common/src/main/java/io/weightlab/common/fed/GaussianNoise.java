package io.weightlab.common.fed;

import io.weightlab.common.transform.TensorRandom;
import org.apache.commons.math3.random.RandomGenerator;

import java.io.Serializable;
import java.security.SecureRandom;

/**
 * The central-DP Gaussian noise added to a round's aggregate: N(0, std²) per element. Reproducible by default: element
 * e of a tensor is drawn from the stream of (seed, round, tensor, block e / {@link TensorRandom#BLOCK}), so a re-run
 * or a retried slice adds the same noise, and the seed must then be kept secret like a key. With {@code secure} the
 * draws come from {@link SecureRandom} instead: nothing to keep secret, nothing reproducible (docs/algorithms.md).
 */
public final class GaussianNoise implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double std;
    private final long seed;
    private final String round;
    private final boolean secure;

    public GaussianNoise(double std, long seed, String round, boolean secure) {
        if (!(std >= 0) || Double.isInfinite(std)) throw new IllegalArgumentException("noise std must be finite and >= 0, got " + std);
        this.std = std;
        this.seed = seed;
        this.round = round == null ? "" : round;
        this.secure = secure;
    }

    /** σ = z·τ/K: the noise multiplier times the L2 sensitivity of the uniform mean of K updates clipped to τ. */
    public static double std(double noiseMultiplier, double clip, int clients) {
        return noiseMultiplier * clip / clients;
    }

    public double std() { return std; }

    public boolean secure() { return secure; }

    /** Adds the noise of elements [first, first + count) of {@code tensor} to {@code y[0..count)}. */
    public void addTo(String tensor, long first, int count, double[] y) {
        if (std == 0) return;
        if (secure) {
            SecureRandom g = new SecureRandom();
            for (int i = 0; i < count; i++) y[i] += std * g.nextGaussian();
            return;
        }
        String stream = round + "/" + tensor; // a new round draws new noise for the same tensor
        TensorRandom.forEachBlock(first, count, (block, skip, take, at) -> {
            RandomGenerator g = TensorRandom.forBlock(seed, stream, block);
            for (int s = 0; s < skip; s++) g.nextGaussian();
            for (int i = 0; i < take; i++) y[at + i] += std * g.nextGaussian();
        });
    }
}
