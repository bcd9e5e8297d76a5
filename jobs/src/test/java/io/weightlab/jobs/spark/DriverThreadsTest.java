package io.weightlab.jobs.spark;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/** What a fleet wave's tail relies on: results in item order, items on more than one thread, failures as thrown. */
class DriverThreadsTest {
    @Test
    void resultsComeBackInItemOrderFromSeveralThreads() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "needs two cores to run items side by side");
        Set<String> threads = ConcurrentHashMap.newKeySet();
        CountDownLatch both = new CountDownLatch(2);
        List<Integer> items = IntStream.range(0, 40).boxed().toList();
        List<Integer> out = DriverThreads.map(items, i -> {
            threads.add(Thread.currentThread().getName() + "@" + Thread.currentThread().getId());
            if (i < 2) {
                // the first two items wait for each other: passes only if they run at the same time
                both.countDown();
                try {
                    assertTrue(both.await(30, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return i * i;
        });
        assertEquals(items.stream().map(i -> i * i).toList(), out);
        assertTrue(threads.size() >= 2, threads.toString());
    }

    @Test
    void theFirstFailureInItemOrderIsRethrownAsItWasAfterEveryItemEnded() {
        AtomicInteger ended = new AtomicInteger();
        IllegalArgumentException third = new IllegalArgumentException("checkpoint 3: bad rows");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DriverThreads.map(IntStream.range(0, 8).boxed().toList(), i -> {
            try {
                if (i == 3) throw third;
                if (i == 6) throw new IllegalArgumentException("checkpoint 6");
                return i;
            } finally {
                ended.incrementAndGet();
            }
        }));
        assertSame(third, e);
        assertEquals(8, ended.get(), "every item ran to its end before the failure was rethrown");
    }

    @Test
    void oneItemRunsOnTheCallersThread() {
        Thread caller = Thread.currentThread();
        assertEquals(List.of(true), DriverThreads.map(List.of(1), i -> Thread.currentThread() == caller));
    }
}
