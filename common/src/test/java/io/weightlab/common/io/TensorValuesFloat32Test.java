package io.weightlab.common.io;

import io.weightlab.common.model.DType;

import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.ModuleData;
import io.weightlab.common.lora.PissaNiterInitializer;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.testing.Fixtures;
import org.apache.hadoop.conf.Configuration;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stored bytes straight to float32 off-heap: exact for every dtype it takes, non-finite values found, same factors. */
class TensorValuesFloat32Test {
    private static final Configuration CONF = new Configuration();

    /** A one-file checkpoint of [rows, cols] tensors, one per dtype, all holding {@code values}. */
    private static Checkpoint checkpoint(Path dir, double[] values, int rows, int cols, DType... dtypes) throws Exception {
        List<SafetensorsLayout.Spec> specs = new java.util.ArrayList<>();
        for (DType d : dtypes) specs.add(new SafetensorsLayout.Spec("w_" + d, d, new long[] {rows, cols}));
        SafetensorsLayout layout = SafetensorsLayout.of(specs, Map.of());
        Path file = Files.createDirectories(dir).resolve("model.safetensors");
        try (OutputStream os = Files.newOutputStream(file); SafetensorsWriter w = new SafetensorsWriter(os, layout, file.toString())) {
            for (SafetensorsLayout.Entry e : layout.entries()) {
                byte[] b = new byte[values.length * e.spec().dtype().byteSize()];
                ElementEncoder.encode(e.spec().dtype(), values, 0, values.length, b, 0);
                w.write(b);
            }
            w.finish();
        }
        return CheckpointCatalog.open(CONF, dir.toUri().toString());
    }

    @Test
    void everyFloatDtypeUpToF32IsReadExactlyAndTheFirstNonFiniteIsFound(@TempDir Path tmp) throws Exception {
        int rows = 700, cols = 3001; // 2.1 M values: several 8 MiB pieces for F32, a short last one
        double[] v = new double[rows * cols];
        java.util.SplittableRandom g = new java.util.SplittableRandom(1);
        for (int i = 0; i < v.length; i++) v[i] = g.nextGaussian() * Math.pow(2, g.nextInt(-12, 10)); // within F16's range
        DType[] types = {DType.F32, DType.BF16, DType.F16};
        Checkpoint c = checkpoint(tmp.resolve("ok"), v, rows, cols, types);
        try (RangeReader r = new RangeReader(CONF)) {
            for (DType d : types) {
                TensorInfo t = c.tensor("w_" + d);
                double[] exact = TensorValues.read(r, t, 0, t.elementCount(), null);
                try (FloatPointer p = new FloatPointer(t.elementCount())) {
                    assertEquals(-1, TensorValues.readFloat32(r, t, p), d + ": all finite");
                    float[] got = new float[exact.length];
                    p.get(got);
                    for (int i = 0; i < exact.length; i++) {
                        if ((double) got[i] != exact[i]) { // exact: the float holds the decoded double itself
                            throw new AssertionError(d + " element " + i + ": " + got[i] + " vs decoded " + exact[i]);
                        }
                    }
                    assertEquals(0, p.position(), "the caller's position is kept");
                }
            }
        }
        v[1_234_567] = Double.NaN;
        v[2_000_000] = Double.POSITIVE_INFINITY;
        Checkpoint bad = checkpoint(tmp.resolve("bad"), v, rows, cols, DType.F32, DType.BF16);
        try (RangeReader r = new RangeReader(CONF); FloatPointer p = new FloatPointer((long) v.length)) {
            assertEquals(1_234_567, TensorValues.readFloat32(r, bad.tensor("w_F32"), p));
            assertEquals(1_234_567, TensorValues.readFloat32(r, bad.tensor("w_BF16"), p));
        }
        assertFalse(TensorValues.exactInFloat32(DType.F64), "F64 is not exact in float32");
        assertTrue(TensorValues.exactInFloat32(DType.BF16));
        try (RangeReader r = new RangeReader(CONF); FloatPointer p = new FloatPointer(4)) {
            TensorInfo f64 = checkpoint(tmp.resolve("f64"), new double[] {1, 2, 3, 4}, 2, 2, DType.F64).tensor("w_F64");
            assertThrows(IllegalArgumentException.class, () -> TensorValues.readFloat32(r, f64, p));
        }
    }

    /** pissa_niter on W read as float32 gives bit for bit the factors it gives on W decoded to doubles. */
    @Test
    void pissaNiterOnTheFloat32CopyEqualsItOnTheDoubles() {
        Checkpoint c = CheckpointCatalog.open(CONF, Fixtures.dir("all-minilm-l6-v2").toUri().toString());
        TensorInfo t = c.tensor("encoder.layer.0.intermediate.dense.weight"); // F32 [1536, 384]
        int out = (int) t.shape()[0], in = (int) t.shape()[1];
        PissaNiterInitializer init = new PissaNiterInitializer(4);
        LoraFactors fromDoubles, fromFloats;
        try (RangeReader r = new RangeReader(CONF); FloatPointer p = new FloatPointer(t.elementCount())) {
            fromDoubles = init.init(ModuleData.ofWeight(TensorValues.read(r, t, 0, t.elementCount(), null), out, in), 8, 2.0, 77);
            assertEquals(-1, TensorValues.readFloat32(r, t, p));
            fromFloats = init.init(ModuleData.ofFloat32(p, out, in), 8, 2.0, 77);
        }
        assertArrayEquals(fromDoubles.a(), fromFloats.a(), 0f, "A");
        assertArrayEquals(fromDoubles.b(), fromFloats.b(), 0f, "B");
    }
}
