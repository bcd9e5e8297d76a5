package io.weightlab.common.error;

/** Base of every error WeightLab reports to a user; the CLI prints the message and exits with {@link #exitCode()}. */
public class WeightLabException extends RuntimeException {
    public WeightLabException(String message) { super(message); }

    public WeightLabException(String message, Throwable cause) { super(message, cause); }

    /** 2 for bad input or usage, 1 for failures of the run. */
    public int exitCode() { return 1; }
}
