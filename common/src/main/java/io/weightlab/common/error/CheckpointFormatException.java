package io.weightlab.common.error;

/**
 * Bad input: a file that breaks a format rule. The message names the file, the tensor (when there is one)
 * and the rule, so a user can act on it without a stack trace.
 */
public class CheckpointFormatException extends WeightLabException {
    private final String file;
    private final String tensor;
    private final String rule;

    public CheckpointFormatException(String file, String tensor, String rule, String detail) {
        super(compose(file, tensor, rule, detail));
        this.file = file;
        this.tensor = tensor;
        this.rule = rule;
    }

    public CheckpointFormatException(String file, String tensor, String rule, String detail, Throwable cause) {
        super(compose(file, tensor, rule, detail), cause);
        this.file = file;
        this.tensor = tensor;
        this.rule = rule;
    }

    private static String compose(String file, String tensor, String rule, String detail) {
        StringBuilder sb = new StringBuilder();
        sb.append(file == null ? "<unknown file>" : file);
        if (tensor != null) sb.append(": tensor '").append(tensor).append('\'');
        sb.append(": ").append(rule);
        if (detail != null && !detail.isEmpty()) sb.append(": ").append(detail);
        return sb.toString();
    }

    public String file() { return file; }

    public String tensor() { return tensor; }

    /** The broken rule, named like the reference implementation's error (e.g. "InvalidOffset"). */
    public String rule() { return rule; }

    @Override
    public int exitCode() { return 2; }
}
