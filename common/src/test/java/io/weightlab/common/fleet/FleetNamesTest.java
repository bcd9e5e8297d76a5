package io.weightlab.common.fleet;

import org.junit.jupiter.api.Test;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Steps from checkpoint names, default labels, partition directories and dataset file names. */
class FleetNamesTest {
    @Test
    void stepsFromTheUsualNames() {
        assertEquals(1200L, StepNames.parse("s3a://b/runs/a/checkpoint-1200"));
        assertEquals(1200L, StepNames.parse("s3a://b/runs/a/checkpoint-1200/"));
        assertEquals(1200L, StepNames.parse("/runs/a/checkpoint-1200/model.safetensors"));
        assertEquals(7L, StepNames.parse("hdfs://nn/x/step_7.safetensors"));
        assertEquals(300L, StepNames.parse("/ds/global_step300"));
        assertEquals(5L, StepNames.parse("/ds/Step-5"));
        assertNull(StepNames.parse("/zoo/bert"));
        assertNull(StepNames.parse("/zoo/checkpoint-final"));
        assertNull(StepNames.parse("/zoo/mystep_3"), "only whole names count");
    }

    @Test
    void labelsAreTheShortestDistinctPathSuffixWithoutTheStep() {
        List<FleetCheckpoint> l = FleetLabels.assign(List.of(
                FleetCheckpoint.of("s3a://b/runs/a/checkpoint-100"), FleetCheckpoint.of("s3a://b/runs/a/checkpoint-200"),
                FleetCheckpoint.of("s3a://b/runs/b/checkpoint-100/model.safetensors"),
                FleetCheckpoint.of("/zoo/x/final"), FleetCheckpoint.of("/zoo/y/final"),
                FleetCheckpoint.of("/zoo/gpt2.safetensors"),
                new FleetCheckpoint("/zoo/z", "given", 9L, null)));
        assertEquals(List.of("a", "a", "b", "x/final", "y/final", "gpt2", "given"), l.stream().map(FleetCheckpoint::model).toList());
        assertEquals(java.util.Arrays.asList(100L, 200L, 100L, null, null, null, 9L), l.stream().map(FleetCheckpoint::step).toList());
    }

    @Test
    void partitionDirectoriesEscapeAsHiveDoes() {
        assertEquals("model=a%2Fx/step=12", HivePartitions.dir("a/x", 12L));
        assertEquals("model=bert-base_v1.2/step=__HIVE_DEFAULT_PARTITION__", HivePartitions.dir("bert-base_v1.2", null));
        String odd = "mö del=1%";
        String enc = HivePartitions.escape(odd);
        assertEquals("m%C3%B6%20del%3D1%25", enc);
        assertEquals(odd, URLDecoder.decode(enc, StandardCharsets.UTF_8), "pyarrow and Spark decode %XX as UTF-8");
    }

    @Test
    void fileNamesCarryKeyAndIdentity() {
        CheckpointIdentity id = new CheckpointIdentity("0123456789abcdef", "fedcba9876543210");
        assertEquals("part-0123456789abcdef-fedcba9876543210.zstd.parquet", id.fileName());
        assertEquals(id, CheckpointIdentity.fromFileName(id.fileName()));
        assertNull(CheckpointIdentity.fromFileName("part-00000.zstd.parquet"));
        assertNull(CheckpointIdentity.fromFileName("part-0123-fedc.zstd.parquet"));
    }
}
