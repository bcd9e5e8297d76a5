package io.weightlab.jobs.spark;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class WorkPackerTest {
    @Test
    void everyUnitOnceAndLoadsBalanced() {
        Random r = new Random(5);
        List<Long> units = new ArrayList<>();
        for (int i = 0; i < 500; i++) units.add((long) (1 + r.nextInt(64)) << 20);
        long total = units.stream().mapToLong(Long::longValue).sum();
        List<List<Long>> tasks = WorkPacker.pack(units, Long::longValue, 2, 512L << 20);
        assertEquals((total + (512L << 20) - 1) / (512L << 20), tasks.size());
        List<Long> all = new ArrayList<>();
        tasks.forEach(all::addAll);
        all.sort(null);
        List<Long> expected = new ArrayList<>(units);
        expected.sort(null);
        assertEquals(expected, all, "every unit exactly once");
        long max = tasks.stream().mapToLong(t -> t.stream().mapToLong(Long::longValue).sum()).max().orElseThrow();
        long min = tasks.stream().mapToLong(t -> t.stream().mapToLong(Long::longValue).sum()).min().orElseThrow();
        // LPT: no task exceeds another by more than the largest unit
        assertTrue(max - min <= (64L << 20), "imbalance " + (max - min));
    }

    @Test
    void fewUnitsGetOneTaskEachAndSmallJobsStillUseEveryCore() {
        assertEquals(3, WorkPacker.pack(List.of(1L, 2L, 3L), Long::longValue, 8, 1L << 30).size());
        assertEquals(6, WorkPacker.pack(List.of(1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L), Long::longValue, 2, 1L << 30).size());
        assertTrue(WorkPacker.pack(List.<Long>of(), Long::longValue, 2, 1).isEmpty());
    }

    /**
     * Packing by count only (no size cap): a few tasks per core whatever the costs' magnitude (flop counts near 2^50
     * each), every unit once, and LPT's bound: no task above the mean load plus the largest unit.
     */
    @Test
    void packByCountIgnoresMagnitudeAndStaysBalanced() {
        List<Long> units = new ArrayList<>();
        for (long i = 1; i <= 40; i++) units.add(i << 44);
        List<List<Long>> tasks = WorkPacker.packByCount(units, Long::longValue, 2);
        assertEquals(6, tasks.size());
        List<Long> all = new ArrayList<>();
        tasks.forEach(all::addAll);
        all.sort(null);
        assertEquals(units, all);
        long total = units.stream().mapToLong(Long::longValue).sum(), largest = 40L << 44;
        for (List<Long> t : tasks) assertTrue(t.stream().mapToLong(Long::longValue).sum() <= total / 6 + largest);
        assertEquals(3, WorkPacker.packByCount(List.of(5L, 6L, 7L), Long::longValue, 8).size());
    }
}
