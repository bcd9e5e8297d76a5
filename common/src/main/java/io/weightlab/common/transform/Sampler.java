package io.weightlab.common.transform;

import org.apache.commons.math3.random.RandomGenerator;

import java.io.Serializable;

/** A zero-mean distribution with a set standard deviation; draws one value at a time from a given generator. */
public interface Sampler extends Serializable {
    double draw(RandomGenerator rng);

    /** Draws {@code count} values into {@code out[from..]}; samplers with set-up cost override this. */
    default void fill(RandomGenerator rng, double[] out, int from, int count) {
        for (int i = 0; i < count; i++) out[from + i] = draw(rng);
    }

    /** A short description for provenance, e.g. "normal(std=0.02)". */
    String describe();
}
