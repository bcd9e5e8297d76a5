package io.weightlab.jobs.spark;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.Map;

/**
 * SIGTERM or Ctrl-C while a job's output is open: the output is aborted (no {@code _temporary}, no partial file, no
 * {@code _SUCCESS}), one line "weightlab &lt;job&gt;: interrupted" goes to stderr, and the process exits 143 (SIGTERM) or
 * 130 (SIGINT), as a shell reports a signalled command. Without this the JVM's default handler runs Spark's
 * shutdown hook under the running stage, and the job dies with a NullPointerException from Spark's RPC layer.
 * A JVM shutdown hook covers the other ways out (SIGHUP, an embedding application's exit).
 */
final class RunInterrupts {
    private static final Map<String, Integer> SIGNALS = Map.of("TERM", 143, "INT", 130);
    private static JobRun active;
    private static volatile boolean interrupted;
    private static volatile int exitCode;
    private static Thread hook;
    private static final Map<String, SignalHandler> previous = new java.util.HashMap<>();

    private RunInterrupts() {}

    /** Whether this process is ending on a signal (the CLI then prints nothing more). */
    static boolean interrupted() { return interrupted; }

    /** The exit code of the signal (143 or 130); whoever calls System.exit first, the process ends with it. */
    static int exitCode() { return exitCode; }

    static synchronized void watch(JobRun run) {
        active = run;
        if (hook != null) return;
        hook = new Thread(RunInterrupts::abortActive, "weightlab-abort-output");
        Runtime.getRuntime().addShutdownHook(hook);
        for (Map.Entry<String, Integer> s : SIGNALS.entrySet()) {
            try {
                previous.put(s.getKey(), Signal.handle(new Signal(s.getKey()), sig -> onSignal(s.getValue())));
            } catch (IllegalArgumentException unavailable) {
                // the JVM was started with -Xrs, or the platform has no such signal: the shutdown hook still aborts
            }
        }
    }

    static synchronized void unwatch(JobRun run) {
        if (active != run) return;
        active = null;
        if (hook == null || interrupted) return;
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return;
        }
        hook = null;
        previous.forEach((name, h) -> Signal.handle(new Signal(name), h));
        previous.clear();
    }

    private static void onSignal(int code) {
        JobRun run;
        synchronized (RunInterrupts.class) {
            if (interrupted) return;
            exitCode = code;
            interrupted = true;
            run = active;
        }
        quietLogging();
        System.err.println("weightlab " + (run == null ? "" : run.job() + ": ") + "interrupted");
        System.err.flush();
        stopTasks(run);
        abortActive();
        sweepLateWrites(run);
        // halt, not exit: shutdown hooks (Spark's) would let the cancelled tasks write again after the last sweep
        Runtime.getRuntime().halt(code);
    }

    /**
     * Cancels the running stages and waits (at most 10 s) until no task can still write into the staging: a cancelled
     * stage is inactive at once, but its task threads finish the file they are writing, so the wait is on the
     * executors' running tasks too (else a late write recreates _temporary after the abort).
     */
    private static void stopTasks(JobRun run) {
        if (run == null) return;
        try {
            org.apache.spark.SparkContext sc = run.sc();
            sc.cancelAllJobs();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < deadline && (sc.statusTracker().getActiveStageIds().length > 0 || runningTasks(sc) > 0)) Thread.sleep(20);
        } catch (RuntimeException | InterruptedException ignored) {
            // no Spark in this run, or it is already stopping: the abort below still runs
        }
    }

    /** A task of the cancelled stage may still close a file or write its marker: remove the staging again. */
    private static void sweepLateWrites(JobRun run) {
        if (run == null || run.staged() == null) return;
        try {
            long deadline = System.nanoTime() + 5_000_000_000L;
            for (int quiet = 0; quiet < 5 && System.nanoTime() < deadline; ) {
                Thread.sleep(100);
                quiet = run.staged().sweepAbandoned() ? 0 : quiet + 1;
            }
        } catch (InterruptedException ignored) {
            run.staged().sweepAbandoned();
        }
    }

    private static int runningTasks(org.apache.spark.SparkContext sc) {
        int n = 0;
        for (org.apache.spark.SparkExecutorInfo e : sc.statusTracker().getExecutorInfos()) n += e.numRunningTasks();
        return n;
    }

    private static void abortActive() {
        JobRun run;
        synchronized (RunInterrupts.class) {
            run = active;
        }
        if (run != null) run.abortOutput();
    }

    /** Spark's own shutdown and task-kill messages are not ours: nothing more on the console. */
    private static void quietLogging() {
        try {
            org.apache.logging.log4j.core.config.Configurator.setAllLevels(
                    org.apache.logging.log4j.LogManager.ROOT_LOGGER_NAME, org.apache.logging.log4j.Level.OFF);
        } catch (LinkageError noLog4jCore) {
            // another logging backend: its messages stay
        }
    }
}
