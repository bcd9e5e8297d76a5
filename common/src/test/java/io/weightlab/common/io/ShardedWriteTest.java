package io.weightlab.common.io;

import io.weightlab.common.commit.StagedOutput;
import io.weightlab.common.model.DType;

import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Python;
import io.weightlab.common.testing.TensorAssertions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our sharded writer: HF's split rule, an index our reader and the reference library both accept. */
class ShardedWriteTest {

    @Test
    void splitsLikeTheHubAndReadsBack(@TempDir Path dir) throws IOException {
        Python.require("numpy", "ml_dtypes", "safetensors");
        Python.script(Python.testScript("roundtrip.py"), "write", dir.toString());
        Configuration conf = new Configuration();
        Checkpoint src = CheckpointCatalog.open(conf, dir.resolve("ref.safetensors").toUri().toString());
        List<SafetensorsLayout.Spec> specs = new ArrayList<>();
        for (TensorInfo t : src.tensors()) specs.add(new SafetensorsLayout.Spec(t.name(), t.dtype(), t.shape()));
        ShardPlan plan = ShardPlan.of(specs, 40, "model");
        assertTrue(plan.shards().size() > 2, "a 40-byte limit must split");
        for (ShardPlan.Shard s : plan.shards()) {
            assertTrue(s.dataBytes() <= 40 || s.specs().size() == 1, s.fileName() + " holds " + s.dataBytes() + " bytes");
        }
        StagedOutput out = StagedOutput.begin(conf, dir.resolve("sharded").toUri().toString(), false);
        try (RangeReader reader = new RangeReader(conf)) {
            for (ShardPlan.Shard s : plan.shards()) {
                SafetensorsLayout layout = SafetensorsLayout.of(s.specs(), Map.of("format", "pt"));
                try (FSDataOutputStream os = out.create(s.fileName());
                     SafetensorsWriter w = new SafetensorsWriter(os, layout, s.fileName())) {
                    for (SafetensorsLayout.Entry e : layout.entries()) {
                        TensorInfo t = src.tensor(e.spec().name());
                        w.write(reader.read(t.file(), t.dataBegin(), (int) t.byteLength()));
                    }
                }
            }
        }
        out.writeString(ShardedIndex.DEFAULT_NAME, plan.indexJson(Map.of()));
        out.commit();
        Checkpoint back = CheckpointCatalog.open(conf, dir.resolve("sharded").toUri().toString());
        assertEquals(plan.shards().size(), back.shards().size());
        TensorAssertions.assertSameTensors(src, back);
        // the reference library reads every shard
        for (ShardPlan.Shard s : plan.shards()) {
            String n = Python.script(Python.testScript("roundtrip.py"), "count", dir.resolve("sharded").resolve(s.fileName()).toString()).strip();
            assertEquals(String.valueOf(s.specs().size()), n, s.fileName());
        }
        assertTrue(Files.readString(dir.resolve("sharded").resolve(ShardedIndex.DEFAULT_NAME)).contains("\"total_size\""));
    }

    @Test
    void oneShardIsAPlainModelFile() {
        ShardPlan p = ShardPlan.of(List.of(new SafetensorsLayout.Spec("a", DType.F32, new long[] {4})), ShardPlan.DEFAULT_MAX_SHARD_BYTES, "model");
        assertEquals("model.safetensors", p.shards().get(0).fileName());
        ShardPlan big = ShardPlan.of(List.of(new SafetensorsLayout.Spec("a", DType.F32, new long[] {4}),
                new SafetensorsLayout.Spec("b", DType.F32, new long[] {10}), new SafetensorsLayout.Spec("c", DType.F32, new long[] {1})), 20, "model");
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"),
                big.shards().stream().map(ShardPlan.Shard::fileName).toList());
    }
}
