package io.weightlab.common.synth;

import io.weightlab.common.transform.Samplers;
import io.weightlab.common.transform.TensorAction;
import io.weightlab.common.transform.TensorRandom;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.AhrensDieterMarsagliaTsangGammaSampler;
import org.apache.commons.rng.sampling.distribution.SharedStateContinuousSampler;
import org.apache.commons.rng.simple.RandomSource;

/**
 * Values drawn from a generalized Gaussian location + α·S·|X|, fast enough for billions of elements (~40 ns each):
 * with G ~ Gamma(1 + 1/β) (Marsaglia–Tsang, Commons RNG) and V uniform on (−1, 1), V·G^{1/β} is GG(β, 1)
 * (the boost identity Gamma(a) = Gamma(a + 1)·U^{1/a} with a = 1/β, folded into the power). Element e comes from
 * the XoShiRo256++ stream of block e / {@link TensorRandom#BLOCK}, seeded from (seed, tensor, block), so any slicing
 * gives the same values.
 */
public record GgDrawAction(long seed, String tensor, double beta, double std, double location) implements TensorAction {
    @Override public boolean needsInput() { return false; }

    @Override
    public void apply(long first, double[] values, int count) {
        double alpha = std == 0 ? 0 : Samplers.ggScale(std, beta), inv = 1.0 / beta;
        TensorRandom.forEachBlock(first, count, (block, skip, take, at) -> {
            long s = TensorRandom.blockSeed(seed, tensor, block);
            UniformRandomProvider rng = RandomSource.XO_SHI_RO_256_PP.create(new long[] {s, ~s, s * 0x9E3779B97F4A7C15L, 0x632BE59BD9B4E019L});
            SharedStateContinuousSampler gamma = AhrensDieterMarsagliaTsangGammaSampler.of(rng, 1 + inv, 1.0);
            for (int i = 0; i < skip; i++) { // replay the block up to the slice's start
                rng.nextDouble();
                gamma.sample();
            }
            for (int i = 0; i < take; i++) {
                double v = 2 * rng.nextDouble() - 1;
                values[at + i] = location + alpha * v * Math.exp(Math.log(gamma.sample()) * inv);
            }
        });
    }

    @Override
    public String describe() {
        return Samplers.fmt("generalized_gaussian(beta=%s, std=%s, location=%s)", beta, std, location);
    }
}
