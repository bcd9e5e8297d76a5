package io.weightlab.common.error;

/** Bad options, bad paths, a refused overwrite: the user must change the command. */
public class UsageException extends WeightLabException {
    public UsageException(String message) { super(message); }

    @Override
    public int exitCode() { return 2; }
}
