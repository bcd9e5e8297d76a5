package io.weightlab.jobs.cli;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.fleet.FleetDataset;
import io.weightlab.jobs.analysis.FleetStatsJob;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;

/** Options of jobs that analyse a fleet of checkpoints into one Parquet dataset (docs/fleet.md): its inputs, and how a run updates it. */
public class FleetOptions extends FleetInputOptions {
    @Option(names = "--append", description = "fleet: analyse only checkpoints that are new or changed (length, mtime/ETag) since the dataset's last runs")
    public boolean append;

    @Option(names = "--prune", description = "fleet: drop the rows of checkpoints that are no longer among the inputs (default: they stay)")
    public boolean prune;

    @Option(names = "--bad-checkpoints", defaultValue = "fail", description = "fleet: fail or skip on an unreadable or invalid checkpoint (default: ${DEFAULT-VALUE})")
    public String badCheckpoints;

    /** Fleet mode: several inputs, a list file, or asked for. */
    public boolean isFleet(List<String> inputs) {
        return inputs.size() > 1 || inputsFile != null || fleet || append || prune;
    }

    public FleetDataset.Mode mode(boolean overwrite) {
        if (append && overwrite) throw new UsageException("--append and --overwrite exclude each other");
        return append ? FleetDataset.Mode.APPEND : overwrite ? FleetDataset.Mode.OVERWRITE : FleetDataset.Mode.CREATE;
    }

    public FleetStatsJob.BadCheckpoints bad() {
        try {
            return FleetStatsJob.BadCheckpoints.valueOf(badCheckpoints.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--bad-checkpoints must be fail or skip, not '" + badCheckpoints + "'");
        }
    }
}
