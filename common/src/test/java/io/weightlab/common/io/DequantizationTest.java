package io.weightlab.common.io;

import io.weightlab.common.error.CheckpointFormatException;
import io.weightlab.common.model.DType;

import io.weightlab.common.stats.MomentAccumulator;
import io.weightlab.common.stats.SliceStatistics;
import io.weightlab.common.stats.StatsUnit;
import io.weightlab.common.stats.TensorPartial;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Closed-form dequantization: FP8 with 2-D block scales, INT8 per row with zero points. */
class DequantizationTest {

    static Path write(Path file, Map<SafetensorsLayout.Spec, byte[]> tensors) throws IOException {
        SafetensorsLayout layout = SafetensorsLayout.of(List.copyOf(tensors.keySet()), Map.of());
        Map<String, byte[]> byName = new LinkedHashMap<>();
        tensors.forEach((k, v) -> byName.put(k.name(), v));
        try (OutputStream o = Files.newOutputStream(file); SafetensorsWriter w = new SafetensorsWriter(o, layout, file.toString())) {
            for (SafetensorsLayout.Entry e : layout.entries()) w.write(byName.get(e.spec().name()));
        }
        return file;
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private static MomentAccumulator stats(Path file, String name, int[] block, long sliceBytes) {
        Configuration conf = new Configuration();
        Checkpoint c = CheckpointCatalog.open(conf, file.toUri().toString());
        Dequantization dq = Dequantization.pair(c, block).get(name);
        TensorPartial total = null;
        try (RangeReader r = new RangeReader(conf)) {
            for (StatsUnit u : StatsUnit.slice(c.tensor(name), sliceBytes, dq)) {
                TensorPartial p = SliceStatistics.compute(r, u);
                total = total == null ? p : total.merge(p);
            }
        }
        return total.moments();
    }

    @Test
    void fp8BlockScales(@TempDir Path dir) throws IOException {
        byte[] ones = new byte[24];
        java.util.Arrays.fill(ones, (byte) 0x38); // 1.0 in F8_E4M3
        Map<SafetensorsLayout.Spec, byte[]> t = new LinkedHashMap<>();
        t.put(new SafetensorsLayout.Spec("model.layers.0.mlp.up_proj.weight", DType.F8_E4M3, new long[] {4, 6}), ones);
        t.put(new SafetensorsLayout.Spec("model.layers.0.mlp.up_proj.weight_scale_inv", DType.F32, new long[] {2, 2}), f32(1, 2, 3, 4));
        Path f = write(dir.resolve("fp8.safetensors"), t);
        // blocks of 2 x 3: the values are 1, 2 (top row of blocks), 3, 4 (bottom), six of each
        for (long slice : new long[] {1, 5, 1 << 20}) {
            MomentAccumulator m = stats(f, "model.layers.0.mlp.up_proj.weight", new int[] {2, 3}, slice);
            assertEquals(2.5, m.mean(), 1e-15);
            assertEquals(1.25, m.variancePopulation(), 1e-15);
            assertEquals(1.0, m.min());
            assertEquals(4.0, m.max());
        }
        // the default 128 x 128 blocks do not tile a 4 x 6 weight with 2 x 2 scales: a clear error
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> stats(f, "model.layers.0.mlp.up_proj.weight", new int[] {128, 128}, 1 << 20));
        assertEquals("InvalidQuantization", e.rule());
    }

    @Test
    void int8PerRowWithZeroPoints(@TempDir Path dir) throws IOException {
        Map<SafetensorsLayout.Spec, byte[]> t = new LinkedHashMap<>();
        t.put(new SafetensorsLayout.Spec("l.weight", DType.I8, new long[] {2, 3}), new byte[] {1, 2, 3, 4, 5, 6});
        t.put(new SafetensorsLayout.Spec("l.weight_scale", DType.F32, new long[] {2}), f32(0.5f, 2f));
        t.put(new SafetensorsLayout.Spec("l.weight_zero_point", DType.I8, new long[] {2}), new byte[] {1, 4});
        Path f = write(dir.resolve("i8.safetensors"), t);
        // (q - zp) * scale = [0, .5, 1] and [0, 2, 4]
        MomentAccumulator m = stats(f, "l.weight", new int[] {128, 128}, 2);
        assertEquals(7.5 / 6, m.mean(), 1e-15);
        assertEquals(4.0, m.max());
        assertEquals(2, m.zeroCount());
        double mean = 7.5 / 6, ss = 0;
        for (double v : new double[] {0, .5, 1, 0, 2, 4}) ss += (v - mean) * (v - mean);
        assertEquals(ss / 6, m.variancePopulation(), 1e-15);
        // a range that starts mid-row is dequantized with its own rows' scales
        Checkpoint c = CheckpointCatalog.open(new Configuration(), f.toUri().toString());
        try (RangeReader r = new RangeReader(new Configuration())) {
            Dequantization dq = Dequantization.pair(c, new int[] {128, 128}).get("l.weight");
            org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {1, 0, 2}, TensorValues.read(r, c.tensor("l.weight"), 2, 5, dq), 0.0);
        }
    }
}
