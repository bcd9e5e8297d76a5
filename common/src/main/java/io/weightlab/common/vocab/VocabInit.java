package io.weightlab.common.vocab;

import java.io.Serializable;
import java.util.List;

/**
 * How new embedding rows are initialised (docs/methods.md, "extend-vocab"). The driver reads what the method
 * {@link #needs()} from the existing rows, then {@link #prepare} gives the filler that runs where the tensor is
 * written. Every random draw comes from the stream of (seed, role, token), so a row does not depend on the
 * order of the file, the slicing or the executor.
 */
public interface VocabInit extends Serializable {
    /** What the driver measures on the existing rows first. */
    enum Needs { NOTHING, MEAN, COVARIANCE }

    Needs needs();

    /** True when every new token must come with the rows of its pieces (subword-mean, convex). */
    default boolean needsPieces() { return false; }

    /**
     * The filler for one tensor: {@code moments} as {@link #needs()} asked (null for NOTHING), {@code initStd} the
     * model's initializer_range, {@code role} "input" or "output" (keys the random streams); {@code sharing} ships
     * large arrays (the d x d Gaussian factor) to the executors outside the task.
     */
    RowFiller prepare(RowMoments moments, double initStd, long seed, String role, Sharing sharing);

    /** A value the filler reads where it runs. */
    interface Shared<T> extends Serializable {
        T get();
    }

    /** How a large value reaches the executors: inside the task (tests, small models) or by a Spark broadcast (the job). */
    interface Sharing {
        <T extends Serializable> Shared<T> share(T value);

        /** The value travels with the task: fine for small ones, not for a 128 MiB factor on a cluster. */
        Sharing IN_TASK = new Sharing() {
            @Override
            public <T extends Serializable> Shared<T> share(T value) {
                return new InTask<>(value);
            }
        };
    }

    record InTask<T>(T value) implements Shared<T> {
        @Override public T get() { return value; }
    }

    /** One new row to fill: the token and the ids of its pieces (null when the method needs none). */
    record NewRow(String token, int[] pieces) implements Serializable {}

    /** Reads an existing row of the tensor being grown. */
    interface RowSource {
        void row(int index, double[] out, int offset);
    }

    /** Fills new rows where the tensor is written; implementations keep no mutable state. */
    interface RowFiller extends Serializable {
        /** Writes {@code rows.size()} rows of length d into {@code out} (row-major). */
        void fill(List<NewRow> rows, int d, RowSource source, double[] out);

        String describe();
    }
}
