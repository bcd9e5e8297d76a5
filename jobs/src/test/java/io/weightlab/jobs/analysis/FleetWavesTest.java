package io.weightlab.jobs.analysis;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Fleet waves are cut by bytes and by tensor count, in input order; a checkpoint over either cap goes alone. */
class FleetWavesTest {

    static FleetRun.Opened ckpt(int index, long bytes, int tensors) {
        List<TensorInfo> ts = new ArrayList<>();
        for (int i = 0; i < tensors; i++) ts.add(new TensorInfo("t" + i, DType.F32, new long[] {1}, "f", 0, 4));
        Checkpoint c = new Checkpoint("c" + index, List.of(new Checkpoint.Shard("f", bytes, 8, Map.of())), ts);
        return new FleetRun.Opened(index, null, c, null, null);
    }

    static List<Integer> sizes(List<List<FleetRun.Opened>> waves) {
        return waves.stream().map(List::size).toList();
    }

    @Test
    void manySmallCheckpointsAreCutByTensorCountNotOnlyByBytes() {
        List<FleetRun.Opened> fifty = new ArrayList<>();
        for (int i = 0; i < 50; i++) fifty.add(ckpt(i, 86L << 20, 102)); // 50 MiniLMs: 4.2 GiB, 5,100 tensors
        // bytes alone (8 GiB) would make one wave of 5,100 tensors; 1,024 tensors per wave make 10+10+10+10+10
        assertEquals(List.of(50), sizes(FleetRun.waves(fifty, 8L << 30, Integer.MAX_VALUE)));
        assertEquals(List.of(10, 10, 10, 10, 10), sizes(FleetRun.waves(fifty, 8L << 30, 1024)));
        // the byte cap still applies: 1 GiB per wave is 11 checkpoints of 86 MiB (946 MiB)
        assertEquals(List.of(11, 11, 11, 11, 6), sizes(FleetRun.waves(fifty, 1L << 30, Integer.MAX_VALUE)));
        // a checkpoint larger than either cap is a wave of its own, and order is kept
        List<List<FleetRun.Opened>> w = FleetRun.waves(List.of(ckpt(0, 10, 5), ckpt(1, 10, 2000), ckpt(2, 10, 5)), 1L << 30, 1024);
        assertEquals(List.of(1, 1, 1), sizes(w));
        assertEquals(1, w.get(1).get(0).index());
    }
}
