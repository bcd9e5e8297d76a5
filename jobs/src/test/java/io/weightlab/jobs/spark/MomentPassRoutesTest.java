package io.weightlab.jobs.spark;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import io.weightlab.common.testing.Fixtures;
import io.weightlab.jobs.TestSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The slice pass gives the same summaries, bit for bit, whether the slices' summaries are collected and merged on the
 * driver or shuffled and merged in reduce tasks, and however the slices are packed into tasks.
 */
class MomentPassRoutesTest {
    @Test
    void collectedAndShuffledRoutesAgreeBitForBitUnderAnyPacking() {
        Checkpoint c = CheckpointCatalog.open(new org.apache.hadoop.conf.Configuration(), Fixtures.dir("all-minilm-l6-v2").toString());
        List<StatsUnit> units = new ArrayList<>();
        long elements = 0;
        for (TensorInfo t : c.tensors()) {
            units.addAll(StatsUnit.slice(t, 2 << 20, null)); // 2 MiB slices: the embedding and the MLP matrices are several slices each
            elements += t.elementCount();
        }
        assertTrue(units.size() > c.tensors().size() + 20, "several multi-slice tensors: " + units.size());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.context());
        Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(jsc.hadoopConfiguration()));
        var nanos = jsc.sc().longAccumulator();
        Map<String, TensorPartial> collected = MomentPass.collectPartials(jsc, conf, WorkPacker.pack(units, StatsUnit::byteLength, 2, MomentPass.TASK_BYTES), nanos, Long.MAX_VALUE);
        Map<String, TensorPartial> shuffled = MomentPass.collectPartials(jsc, conf, WorkPacker.pack(units, StatsUnit::byteLength, 2, MomentPass.TASK_BYTES), nanos, 0);
        Map<String, TensorPartial> repacked = MomentPass.collectPartials(jsc, conf, WorkPacker.pack(units, StatsUnit::byteLength, 7, 4L << 20), nanos, Long.MAX_VALUE);
        conf.destroy();

        assertEquals(c.tensors().size(), collected.size());
        assertEquals(collected.keySet(), shuffled.keySet());
        assertEquals(collected.keySet(), repacked.keySet());
        long counted = 0;
        for (TensorInfo t : c.tensors()) {
            byte[] a = MomentPass.SliceBytes.of(t.name(), 0, collected.get(t.name())).bytes();
            assertArrayEquals(a, MomentPass.SliceBytes.of(t.name(), 0, shuffled.get(t.name())).bytes(), t.name() + ": collected vs shuffled");
            assertArrayEquals(a, MomentPass.SliceBytes.of(t.name(), 0, repacked.get(t.name())).bytes(), t.name() + ": another packing");
            TensorPartial p = collected.get(t.name());
            assertEquals(t.elementCount(), p.moments().count(), t.name());
            long inTable = 0;
            for (long n : p.quantiles().countsView()) inTable += n;
            assertEquals(t.elementCount(), inTable, t.name() + ": every (finite) value counted once in the quantile table");
            counted += p.moments().count();
        }
        assertEquals(elements, counted);
    }
}
