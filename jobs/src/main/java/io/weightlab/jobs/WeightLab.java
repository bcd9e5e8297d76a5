package io.weightlab.jobs;

import io.weightlab.jobs.cli.VersionProvider;
import io.weightlab.jobs.cli.YamlConfig;

import io.weightlab.common.error.UsageException;
import io.weightlab.common.error.WeightLabException;
import io.weightlab.jobs.cli.CompareCommand;
import io.weightlab.jobs.cli.FedAvgCommand;
import io.weightlab.jobs.cli.ImportCommand;
import io.weightlab.jobs.cli.InspectCommand;
import io.weightlab.jobs.cli.LoraConvertCommand;
import io.weightlab.jobs.cli.LoraInitCommand;
import io.weightlab.jobs.cli.LrScalesCommand;
import io.weightlab.jobs.cli.ExtractLoraCommand;
import io.weightlab.jobs.cli.RescaleCommand;
import io.weightlab.jobs.cli.ReportCommand;
import io.weightlab.jobs.cli.SpectrumCommand;
import io.weightlab.jobs.cli.StatsCommand;
import io.weightlab.jobs.cli.ExtendVocabCommand;
import io.weightlab.jobs.cli.GrowCommand;
import io.weightlab.jobs.cli.MergeCommand;
import io.weightlab.jobs.cli.ShrinkCommand;
import io.weightlab.jobs.cli.SynthCommand;
import io.weightlab.jobs.cli.UpcycleCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.List;

/**
 * The one entry point: {@code weightlab <job> <input...> --out <dir> [options]}. Typed errors become one line
 * on stderr and exit code 2 (bad input or usage) or 1 (the run failed).
 */
@Command(name = "weightlab", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Spark jobs that read, analyse, transform and aggregate neural-network checkpoints.")
public final class WeightLab implements Runnable {
    /** Every job's command, in the order the usage lists them. */
    static final List<Class<?>> JOBS = List.of(InspectCommand.class, StatsCommand.class, SpectrumCommand.class, ReportCommand.class,
            ImportCommand.class, RescaleCommand.class, LoraInitCommand.class, LoraConvertCommand.class, LrScalesCommand.class,
            FedAvgCommand.class, SynthCommand.class, CompareCommand.class, UpcycleCommand.class, ShrinkCommand.class, GrowCommand.class,
            ExtendVocabCommand.class, MergeCommand.class, ExtractLoraCommand.class);

    @Override
    public void run() {
        CommandLine all = new CommandLine(this);
        for (Class<?> job : JOBS) all.addSubcommand(job);
        all.usage(System.out);
    }

    public static void main(String[] args) {
        int code = execute(args);
        // interrupted: the signal handler is removing the staging and ends the process itself (exiting here first
        // would race it and could leave a late task's files behind)
        if (io.weightlab.jobs.spark.JobRun.interrupted()) io.weightlab.jobs.spark.JobRun.awaitInterruptedExit();
        if (insideYarnApplicationMaster()) {
            // YARN cluster mode: the ApplicationMaster reports the application's final status when main returns or
            // throws; System.exit here ran its shutdown hook first, and YARN marked a committed run FAILED and retried it
            if (code == 0) return;
            throw new IllegalStateException("weightlab exited with status " + code + " (the error is the line above on stderr)");
        }
        System.exit(code);
    }

    /** The driver runs in YARN's ApplicationMaster, which sets the application's Spark configuration as system properties. */
    static boolean insideYarnApplicationMaster() {
        return "cluster".equals(System.getProperty("spark.submit.deployMode")) && System.getProperty("spark.master", "").startsWith("yarn");
    }

    /** Jobs whose --config is their own input (merge: mergekit's recipe), not the YAML of option defaults. */
    static final java.util.Set<String> OWN_CONFIG = java.util.Set.of("merge");

    /** Runs the CLI and returns the exit code (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new WeightLab());
        // Building a job's model reflects over all its options and mixins: a run builds only its own job's (~0.1 s of
        // start-up); usage, a misspelled job (did-you-mean) and --config (whose sections name other jobs) get them all.
        Class<?> named = jobClass(args);
        boolean defaultsYaml = java.util.Arrays.stream(args).anyMatch(a -> a.equals(YamlConfig.OPTION) || a.startsWith(YamlConfig.OPTION + "="))
                && (named == null || !OWN_CONFIG.contains(named.getAnnotation(Command.class).name()));
        Class<?> only = defaultsYaml ? null : named;
        for (Class<?> job : only != null ? List.of(only) : JOBS) cl.addSubcommand(job);
        cl.setExecutionExceptionHandler((ex, line, parse) -> report(line, ex));
        cl.setParameterExceptionHandler(WeightLab::usageError);
        // distinct: an alias (reinit) maps to the same CommandLine as its job
        for (CommandLine job : new java.util.LinkedHashSet<>(cl.getSubcommands().values())) {
            job.getCommandSpec().versionProvider(new VersionProvider());
            if (OWN_CONFIG.contains(job.getCommandName())) continue;
            job.getCommandSpec().addOption(CommandLine.Model.OptionSpec.builder(YamlConfig.OPTION).paramLabel("FILE").type(String.class)
                    .description("option defaults from a YAML file: keys are this job's long options without dashes, or a section named "
                            + "after the job; unknown keys are errors (command-line options win)").build());
        }
        String job = jobName(cl, args);
        if (job != null && OWN_CONFIG.contains(job)) return cl.execute(args); // the job's own --config (merge's recipe), not option defaults
        String[] rest = YamlConfig.stripConfigArgs(args);
        job = jobName(cl, rest);
        try {
            YamlConfig config = YamlConfig.fromArgs(args);
            if (config != null) {
                config.validate(cl, job);
                cl.setDefaultValueProvider(config);
            }
        } catch (UsageException e) {
            return report(job == null ? cl : cl.getSubcommands().get(job), e);
        }
        return cl.execute(rest);
    }

    /** The command class of the job named by the first word of {@code args} that is not an option, or null. */
    static Class<?> jobClass(String[] args) {
        for (String a : args) {
            if (a.startsWith("-")) continue;
            for (Class<?> c : JOBS) {
                Command command = c.getAnnotation(Command.class);
                if (command.name().equals(a) || java.util.Arrays.asList(command.aliases()).contains(a)) return c;
            }
            return null;
        }
        return null;
    }

    /** The job a command line runs: its first word that names one. */
    static String jobName(CommandLine cl, String[] args) {
        for (String a : args) if (cl.getSubcommands().containsKey(a)) return a;
        return null;
    }

    /**
     * A usage mistake is one line (with "did you mean" for a misspelled option) and where to look, not the whole
     * usage text: {@code weightlab stats: error: Unknown option: '--slcie-mb'}.
     */
    static int usageError(CommandLine.ParameterException ex, String[] args) {
        CommandLine line = ex.getCommandLine();
        PrintWriter err = line.getErr();
        String job = line.getCommandSpec().qualifiedName();
        String message = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u && u.isUnknownOption()) {
            // picocli also lists the misspelled option's value ('--slcie-mb', '3'); the option is the mistake
            List<String> options = u.getUnmatched().stream().filter(a -> a.startsWith("-")).map(a -> "'" + a.split("=", 2)[0] + "'").toList();
            if (!options.isEmpty()) message = (options.size() == 1 ? "Unknown option: " : "Unknown options: ") + String.join(", ", options);
        }
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            message += " (did you mean " + String.join(" or ", u.getSuggestions().stream().limit(3).map(s -> "'" + s + "'").toList()) + "?)";
        }
        err.println(job + ": error: " + message);
        err.println("Try '" + job + " --help'.");
        err.flush();
        return 2;
    }

    /** Finds the WeightLab error inside Spark's wrapping and prints it as one actionable line. */
    static int report(CommandLine line, Throwable ex) {
        if (io.weightlab.jobs.spark.JobRun.interrupted()) return io.weightlab.jobs.spark.JobRun.interruptedExitCode(); // its one line is printed
        PrintWriter err = line.getErr();
        WeightLabException wl = find(ex);
        String job = line.getCommandSpec().qualifiedName();
        if (wl != null) {
            err.println(job + ": error: " + wl.getMessage());
            err.flush();
            return wl.exitCode();
        }
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        err.println(job + ": failed: " + root.getClass().getSimpleName() + ": " + root.getMessage());
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
