package io.weightlab.jobs.cli;

import picocli.CommandLine.Option;

/** How a job is given a fleet of checkpoints (docs/fleet.md, Inputs): besides positional URIs and globs. */
public class FleetInputOptions {
    @Option(names = "--inputs", paramLabel = "FILE", description = "list of checkpoints: one URI a line, or YAML/JSON entries {uri, model, step, tags}")
    public String inputsFile;

    @Option(names = "--fleet", description = "treat a single input (a glob) as a fleet: every match is one checkpoint")
    public boolean fleet;
}
