package io.weightlab.jobs.spark;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One output file written on another thread while the caller writes the others: a small job's tail is its JSON,
 * CSV, HTML and Parquet files one after the other on the driver, with the second core idle (BENCHMARKS.md, "Job
 * start-up"). {@link #join} waits for it and rethrows its failure as the caller's, so the staged output is
 * committed or aborted only after the file is complete or failed. Resolve the file's staged path on the caller's
 * thread: {@code StagedOutput} records its names unsynchronised.
 */
public final class BackgroundWrite {
    private final CompletableFuture<Void> done;

    private BackgroundWrite(Runnable write) {
        done = CompletableFuture.runAsync(write);
    }

    public static BackgroundWrite start(Runnable write) {
        return new BackgroundWrite(write);
    }

    /**
     * Runs {@code callerWrites} here, then waits for the background write. A failure of either is rethrown; when both
     * fail, the caller's is thrown with the background one suppressed.
     */
    public <E extends Exception> void alongside(ThrowingRunnable<E> callerWrites) throws E {
        try {
            callerWrites.run();
        } catch (Throwable t) {
            try {
                join();
            } catch (Throwable background) {
                if (background != t) t.addSuppressed(background);
            }
            throw t;
        }
        join();
    }

    /** Waits for the write; its RuntimeException or Error is rethrown as it was thrown. */
    public void join() {
        try {
            done.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    @FunctionalInterface
    public interface ThrowingRunnable<E extends Exception> {
        void run() throws E;
    }
}
