package io.weightlab.jobs.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Driver-side work over independent items on every core while the executors are idle (a fleet wave's per-checkpoint
 * rows and files, after its Spark stages: about 0.2 s per MiniLM-sized checkpoint, one after the other before).
 * Results come back in the items' order; a failure is rethrown as it was thrown (the first in item order), after
 * every item has finished, so nothing is still writing when the caller aborts.
 */
public final class DriverThreads {
    private DriverThreads() {}

    public static <T, R> List<R> map(List<T> items, Function<T, R> work) {
        int threads = Math.min(items.size(), Runtime.getRuntime().availableProcessors());
        if (threads <= 1) return items.stream().map(work).toList();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "weightlab-driver-work");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Callable<R>> calls = new ArrayList<>();
            for (T item : items) calls.add(() -> work.apply(item));
            List<R> out = new ArrayList<>();
            for (Future<R> f : pool.invokeAll(calls)) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) throw r;
                    if (e.getCause() instanceof Error err) throw err;
                    throw new IllegalStateException(e.getCause());
                }
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }
}
