package io.weightlab.jobs;

import io.weightlab.jobs.cli.YamlConfig;

import io.weightlab.common.error.WeightLabException;
import io.weightlab.jobs.cli.CompareCommand;
import io.weightlab.jobs.cli.FedAvgCommand;
import io.weightlab.jobs.cli.ImportCommand;
import io.weightlab.jobs.cli.InspectCommand;
import io.weightlab.jobs.cli.LoraConvertCommand;
import io.weightlab.jobs.cli.LoraInitCommand;
import io.weightlab.jobs.cli.RescaleCommand;
import io.weightlab.jobs.cli.ReportCommand;
import io.weightlab.jobs.cli.SpectrumCommand;
import io.weightlab.jobs.cli.StatsCommand;
import io.weightlab.jobs.cli.GrowCommand;
import io.weightlab.jobs.cli.ShrinkCommand;
import io.weightlab.jobs.cli.SynthCommand;
import io.weightlab.jobs.cli.UpcycleCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The one entry point: {@code weightlab <job> <input...> --out <dir> [options]}. Typed errors become one line
 * on stderr and exit code 2 (bad input or usage) or 1 (the run failed).
 */
@Command(name = "weightlab", mixinStandardHelpOptions = true, version = "weightlab 0.1.0",
        description = "Spark jobs that read, analyse, transform and aggregate neural-network checkpoints.",
        subcommands = {InspectCommand.class, StatsCommand.class, SpectrumCommand.class, ReportCommand.class, ImportCommand.class, RescaleCommand.class, LoraInitCommand.class, LoraConvertCommand.class, FedAvgCommand.class, SynthCommand.class, CompareCommand.class, UpcycleCommand.class, ShrinkCommand.class, GrowCommand.class})
public final class WeightLab implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int code = execute(args);
        System.exit(code);
    }

    /** Runs the CLI and returns the exit code (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new WeightLab());
        cl.setExecutionExceptionHandler((ex, line, parse) -> report(line, ex));
        cl.setDefaultValueProvider(YamlConfig.fromArgs(args));
        return cl.execute(YamlConfig.stripConfigArgs(args));
    }

    /** Finds the WeightLab error inside Spark's wrapping and prints it as one actionable line. */
    static int report(CommandLine line, Throwable ex) {
        PrintWriter err = line.getErr();
        WeightLabException wl = find(ex);
        String job = line.getCommandName();
        if (wl != null) {
            err.println("weightlab " + job + ": error: " + wl.getMessage());
            err.flush();
            return wl.exitCode();
        }
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        err.println("weightlab " + job + ": failed: " + root.getClass().getSimpleName() + ": " + root.getMessage());
        if (System.getenv("WEIGHTLAB_DEBUG") != null) ex.printStackTrace(err);
        err.flush();
        return 1;
    }

    static WeightLabException find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof WeightLabException w) return w;
            for (Throwable s : c.getSuppressed()) {
                WeightLabException w = find(s);
                if (w != null) return w;
            }
        }
        return null;
    }
}
