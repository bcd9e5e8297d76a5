package io.weightlab.jobs.spark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Packs work units into Spark tasks: at least a few tasks per core (for balance and retries), otherwise about
 * {@code taskBytes} each, filled largest-first into the least-loaded task (LPT). A task still processes its
 * units one at a time, so memory per task is that of one unit.
 */
public final class WorkPacker {
    private WorkPacker() {}

    public static <T> List<List<T>> pack(List<T> units, ToLongFunction<T> size, int parallelism, long taskBytes) {
        if (units.isEmpty()) return List.of();
        long total = 0;
        for (T u : units) total += size.applyAsLong(u);
        long bySize = total <= 0 ? 1 : (total - 1) / taskBytes + 1; // ceil without overflow when taskBytes is huge
        int n = (int) Math.max(Math.min(units.size(), 3L * Math.max(1, parallelism)), bySize);
        n = Math.max(1, Math.min(n, units.size()));
        List<T> sorted = new ArrayList<>(units);
        sorted.sort(Comparator.comparingLong(size).reversed());
        List<List<T>> tasks = new ArrayList<>();
        PriorityQueue<long[]> load = new PriorityQueue<>(Comparator.<long[]>comparingLong(x -> x[0]).thenComparingLong(x -> x[1]));
        for (int i = 0; i < n; i++) {
            tasks.add(new ArrayList<>());
            load.add(new long[] {0, i});
        }
        for (T u : sorted) {
            long[] least = load.poll();
            tasks.get((int) least[1]).add(u);
            least[0] += size.applyAsLong(u);
            load.add(least);
        }
        // Largest tasks first, so the stage does not end waiting on one big task.
        tasks.sort(Comparator.comparingLong((List<T> l) -> l.stream().mapToLong(size).sum()).reversed());
        return Collections.unmodifiableList(tasks);
    }

    /**
     * A few tasks per core, balanced by {@code cost} (LPT), with no cap on a task's size: for units whose cost is not
     * bytes (a factorization's flops, a round's values), where only balance matters.
     */
    public static <T> List<List<T>> packByCount(List<T> units, ToLongFunction<T> cost, int parallelism) {
        return pack(units, cost, parallelism, Long.MAX_VALUE);
    }

    public static <T> Iterator<T> flatten(Iterator<List<T>> it) {
        List<T> all = new ArrayList<>();
        it.forEachRemaining(all::addAll);
        return all.iterator();
    }
}
