package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import picocli.CommandLine.Option;

/**
 * {@code --slice-mb}, the same option with the same meaning and default in every job that cuts tensors into work
 * units: MiB of stored tensor bytes per unit. A task holds its unit decoded to double, 8 / (stored bytes per
 * element) times as much (x2 for BF16, x4 for F8). compare also keeps a unit at most 4 Mi elements
 * ({@code CompareJob.MAX_SLICE_ELEMENTS}, for the accuracy of its sums).
 */
public class SliceOptions {
    @Option(names = "--slice-mb", defaultValue = "64", description = "largest work unit in MiB of stored tensor bytes; a task decodes it "
            + "to double, 8 / (bytes per element) times that (default: ${DEFAULT-VALUE})")
    long sliceMb;

    /** The bound in bytes, validated. */
    public long sliceBytes() {
        if (sliceMb <= 0) throw new UsageException("--slice-mb must be positive");
        return sliceMb << 20;
    }
}
