package io.weightlab.jobs.spark;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.error.UsageException;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The driver side every job shares (docs/design.md, "One job skeleton"): the Spark context, the Hadoop
 * configuration and its broadcast to executors, the staged output and its one commit path, progress lines, the
 * console, the start time and the run facts. A job adds only its options, its plan, its Spark stages and what it
 * writes:
 * <pre>
 * try (JobRun run = JobRun.start("rescale", spark, console)) {
 *     StagedOutput out = run.output(o.out(), JobRun.Output.REQUIRED, "where the new checkpoint goes", o.overwrite(), key);
 *     return run.commitAfter("the checkpoint", () -> ...stages and files...);
 * }
 * </pre>
 * Closing releases the broadcast and the progress listeners and aborts an output that was not committed; while an
 * output is open, SIGTERM or Ctrl-C aborts it too ({@link RunInterrupts}).
 */
public final class JobRun implements AutoCloseable {
    /** Whether a job needs {@code --out}: declared once by the job, checked before any work. */
    public enum Output { REQUIRED, OPTIONAL }

    private final String job;
    private final SparkContext sc;
    private final Configuration hadoop;
    private final PrintStream console;
    private final long startNanos = System.nanoTime();
    private final List<ProgressReporter> listeners = new ArrayList<>();
    private JavaSparkContext jsc;
    private Broadcast<SerializableConfiguration> broadcast;
    private StagedOutput staged;
    private boolean committed;

    private JobRun(String job, SparkContext sc, Configuration hadoop, PrintStream console) {
        this.job = job;
        this.sc = sc;
        this.hadoop = hadoop;
        this.console = console;
    }

    /** A job that runs Spark stages. */
    public static JobRun start(String job, SparkContext sc, PrintStream console) {
        return new JobRun(job, sc, sc.hadoopConfiguration(), console);
    }

    /** The same, from a session (an embedding application's): jobs use only its context. */
    public static JobRun start(String job, SparkSession spark, PrintStream console) {
        return start(job, spark.sparkContext(), console);
    }

    /** A job that reads headers only and starts no Spark (inspect): the Hadoop configuration is its own. */
    public static JobRun local(String job, Configuration hadoop, PrintStream console) {
        return new JobRun(job, null, hadoop, console);
    }

    /** Whether the process is ending on SIGTERM/SIGINT: the CLI prints nothing more and exits with {@link #interruptedExitCode()}. */
    public static boolean interrupted() { return RunInterrupts.interrupted(); }

    /** 143 after SIGTERM, 130 after SIGINT. */
    public static int interruptedExitCode() { return RunInterrupts.exitCode(); }

    /** Blocks while the signal handler cleans up and halts the process (at most ~20 s, then returns). */
    public static void awaitInterruptedExit() {
        try {
            Thread.sleep(20_000);
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code --out} as the job declared it: a REQUIRED output missing is a usage error saying what goes there. */
    public static void checkOut(String out, Output need, String whatGoesThere) {
        if (out == null && need == Output.REQUIRED) throw new UsageException("--out is required: " + whatGoesThere);
    }

    public String job() { return job; }

    public PrintStream console() { return console; }

    public Configuration hadoop() { return hadoop; }

    public SparkContext sc() {
        if (sc == null) throw new IllegalStateException(job + " runs without Spark");
        return sc;
    }

    public JavaSparkContext jsc() {
        if (jsc == null) jsc = JavaSparkContext.fromSparkContext(sc());
        return jsc;
    }

    /** The Hadoop configuration for executors (S3A endpoint, credentials provider, namenode); destroyed on close. */
    public Broadcast<SerializableConfiguration> conf() {
        if (broadcast == null) broadcast = jsc().broadcast(new SerializableConfiguration(hadoop));
        return broadcast;
    }

    /** Seconds since the run started. */
    public double seconds() { return (System.nanoTime() - startNanos) / 1e9; }

    /** Seconds from the start to {@code nanos} (a {@link System#nanoTime()} taken by the job). */
    public double secondsAt(long nanos) { return (nanos - startNanos) / 1e9; }

    /** The run facts every output records, {@code job} first; the job appends its own in its order. */
    public Map<String, Object> facts() {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("job", job);
        return run;
    }

    /** The master URL, for the run facts ("none" for a job that started no Spark). */
    public String sparkMaster() { return sc == null ? "none" : sc.master(); }

    /**
     * Begins the staged output (null when OPTIONAL and not given): refuses a committed result without
     * {@code --overwrite}, a file or a foreign directory, before any work; with a {@code resumeKey} a dead run's staging
     * with the same key is taken over. From here until the commit, an interrupt leaves nothing behind.
     */
    public StagedOutput output(String out, Output need, String whatGoesThere, boolean overwrite, String resumeKey) {
        checkOut(out, need, whatGoesThere);
        if (out == null) {
            // a Spark job's results would otherwise look written; inspect's table on the console is the result
            if (sc != null) console.printf("[%s] no --out given: nothing is written%n", job);
            return null;
        }
        if (staged != null) throw new IllegalStateException(job + ": the output was already begun");
        staged = StagedOutput.begin(hadoop, out, overwrite, resumeKey);
        RunInterrupts.watch(this);
        if (staged.isResumed()) console.printf("[%s] resuming the interrupted run in %s%n", job, out);
        return staged;
    }

    public StagedOutput output(String out, Output need, String whatGoesThere, boolean overwrite) {
        return output(out, need, whatGoesThere, overwrite, null);
    }

    /** The output begun by {@link #output}, or null. */
    public StagedOutput staged() { return staged; }

    /**
     * Runs {@code body}, then commits the output; on any failure the output is aborted and the error rethrown
     * ({@link StagedOutput#commitAfter}). Without an output (OPTIONAL, not given) the body runs and nothing is written.
     */
    public <T> T commitAfter(String what, StagedOutput.Body<T> body) {
        if (staged == null) {
            try {
                return body.run();
            } catch (java.io.IOException e) {
                throw new io.weightlab.common.error.WeightLabException(job + ": " + what + " failed: " + e.getMessage(), e);
            }
        }
        T result = staged.commitAfter(what, body);
        committed = true;
        return result;
    }

    /** Progress lines for the next stage with one unit of {@code unitBytes[i]} bytes per partition i; removed on close. */
    public ProgressReporter progress(long[] unitBytes) {
        ProgressReporter p = new ProgressReporter(job, unitBytes, console);
        sc().addSparkListener(p);
        listeners.add(p);
        return p;
    }

    /** Stops reporting {@code p} (the stage it watched is done). */
    public void endProgress(ProgressReporter p) {
        if (listeners.remove(p)) sc().removeSparkListener(p);
    }

    /** Aborts an output that was begun and not committed (nothing of this run stays where a reader would look). */
    void abortOutput() {
        if (staged != null && !committed) staged.abort();
    }

    @Override
    public void close() {
        RunInterrupts.unwatch(this);
        abortOutput();
        for (ProgressReporter p : listeners) sc.removeSparkListener(p);
        listeners.clear();
        if (broadcast != null) broadcast.destroy();
        broadcast = null;
    }
}
