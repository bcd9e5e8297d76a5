package io.weightlab.common.merge;

import io.weightlab.common.transform.TensorRandom;
import org.apache.commons.math3.random.RandomGenerator;

/**
 * DARE's Bernoulli(density) keep mask of one input, drawn from (seed, tensor name, input, element block): element e
 * keeps when the e-th uniform of its block's stream is below the density, whichever task or slice computes it.
 * DELLA draws from the same streams ({@link DellaMask}).
 */
public final class DareMask {
    private DareMask() {}

    public static boolean[] draw(long seed, String tensor, int input, double density, long first, int count) {
        boolean[] keep = new boolean[count];
        if (density >= 1) {
            java.util.Arrays.fill(keep, true);
            return keep;
        }
        double[] u = uniforms(seed, tensor, input, first, count);
        for (int j = 0; j < count; j++) keep[j] = u[j] < density;
        return keep;
    }

    /**
     * The uniforms in [0, 1) of elements [first, first + count) of input i's stream: DARE keeps where u &lt; density,
     * DELLA where u &lt; its rank's probability ({@link DellaMask}).
     */
    public static double[] uniforms(long seed, String tensor, int input, long first, int count) {
        double[] u = new double[count];
        String stream = tensor + "#input" + input;
        TensorRandom.forEachBlock(first, count, (block, skip, take, at) -> {
            RandomGenerator g = TensorRandom.forBlock(seed, stream, block);
            for (int j = 0; j < skip; j++) g.nextDouble();
            for (int j = 0; j < take; j++) u[at + j] = g.nextDouble();
        });
        return u;
    }
}
