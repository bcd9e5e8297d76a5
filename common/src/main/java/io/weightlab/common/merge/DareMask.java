package io.weightlab.common.merge;

import io.weightlab.common.transform.TensorRandom;
import org.apache.commons.math3.random.RandomGenerator;

/**
 * DARE's Bernoulli(density) keep mask of one input, drawn from (seed, tensor name, input, element block): element e
 * keeps when the e-th uniform of its block's stream is below the density, whichever task or slice computes it.
 */
public final class DareMask {
    private DareMask() {}

    public static boolean[] draw(long seed, String tensor, int input, double density, long first, int count) {
        boolean[] keep = new boolean[count];
        if (density >= 1) {
            java.util.Arrays.fill(keep, true);
            return keep;
        }
        String stream = tensor + "#input" + input;
        TensorRandom.forEachBlock(first, count, (block, skip, take, at) -> {
            RandomGenerator g = TensorRandom.forBlock(seed, stream, block);
            for (int j = 0; j < skip; j++) g.nextDouble();
            for (int j = 0; j < take; j++) keep[at + j] = g.nextDouble() < density;
        });
        return keep;
    }
}
