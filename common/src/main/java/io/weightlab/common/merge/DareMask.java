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

    /** The keep mask itself, compared as drawn: no array of uniforms per input and step (8 bytes an element). */
    public static boolean[] draw(long seed, String tensor, int input, double density, long first, int count) {
        boolean[] keep = new boolean[count];
        if (density >= 1) {
            java.util.Arrays.fill(keep, true);
            return keep;
        }
        forEachUniform(seed, tensor, input, first, count, (j, u) -> keep[j] = u < density);
        return keep;
    }

    /**
     * The uniforms in [0, 1) of elements [first, first + count) of input i's stream: DARE keeps where u &lt; density,
     * DELLA where u &lt; its rank's probability ({@link DellaMask}).
     */
    public static double[] uniforms(long seed, String tensor, int input, long first, int count) {
        double[] u = new double[count];
        forEachUniform(seed, tensor, input, first, count, (j, v) -> u[j] = v);
        return u;
    }

    private interface UniformSink {
        void accept(int index, double u);
    }

    private static void forEachUniform(long seed, String tensor, int input, long first, int count, UniformSink sink) {
        String stream = tensor + "#input" + input;
        TensorRandom.forEachBlock(first, count, (block, skip, take, at) -> {
            RandomGenerator g = TensorRandom.forBlock(seed, stream, block);
            for (int j = 0; j < skip; j++) g.nextDouble();
            for (int j = 0; j < take; j++) sink.accept(at + j, g.nextDouble());
        });
    }
}
