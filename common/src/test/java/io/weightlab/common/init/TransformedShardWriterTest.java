package io.weightlab.common.init;

import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.io.DType;
import io.weightlab.common.io.ElementDecoder;
import io.weightlab.common.io.ElementEncoder;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.io.SafetensorsLayout;
import io.weightlab.common.io.SafetensorsWriter;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.stats.MomentAccumulator;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shard writer against a plain per-element computation (decode, a·x+b in double, float cast, RNE to the
 * output dtype): the 16-bit code-table path and the general path must give exactly those bytes, for every
 * input/output dtype pair, and the moments before the cast must equal those of the per-element doubles.
 */
class TransformedShardWriterTest {
    static final int ROWS = 300, COLS = 1111; // not a multiple of any piece or block size

    static Path input(Path dir, DType d) throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        double[] v = new double[ROWS * COLS];
        for (int i = 0; i < v.length; i++) v[i] = 0.05 * rng.nextGaussian() + 0.001;
        byte[] bytes = new byte[v.length * d.byteSize()];
        ElementEncoder.encode(d, v, 0, v.length, bytes, 0);
        Path f = dir.resolve("in-" + d + ".safetensors");
        try (OutputStream os = Files.newOutputStream(f);
             SafetensorsWriter w = new SafetensorsWriter(os, SafetensorsLayout.of(List.of(new SafetensorsLayout.Spec("w", d, new long[] {ROWS, COLS})), null), "in")) {
            w.write(bytes);
        }
        return f;
    }

    @Test
    void everyPathGivesThePerElementBytesAndMoments(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        AffineAction affine = new AffineAction(0.37, -0.0021);
        for (DType in : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            TensorInfo t = CheckpointCatalog.open(conf, input(dir, in).toString()).tensors().get(0);
            byte[] stored = new byte[(int) t.byteLength()];
            try (RangeReader r = new RangeReader(conf)) {
                r.read(t.file(), t.dataBegin(), stored, 0, stored.length);
            }
            double[] x = new double[ROWS * COLS];
            ElementDecoder.decode(in, stored, 0, x.length, x, 0);
            affine.apply(0, x, x.length);
            MomentAccumulator expectedMoments = new MomentAccumulator();
            expectedMoments.addBlock(x, 0, x.length);
            for (DType out : new DType[] {DType.BF16, DType.F16, DType.F32, DType.F64}) {
                byte[] expected = new byte[x.length * out.byteSize()];
                ElementEncoder.encode(out, x, 0, x.length, expected, 0);
                Path f = dir.resolve("out-" + in + "-" + out + ".safetensors");
                TransformedShardWriter.ShardResult res;
                try (RangeReader r = new RangeReader(conf); OutputStream os = Files.newOutputStream(f)) {
                    res = TransformedShardWriter.write(r, os, f.toString(),
                            List.of(new TransformPlanner.Planned(t, "w=x", affine, "test", out)), Map.of("format", "pt"));
                }
                TensorInfo o = CheckpointCatalog.open(conf, f.toString()).tensors().get(0);
                byte[] got = new byte[(int) o.byteLength()];
                try (RangeReader r = new RangeReader(conf)) {
                    r.read(o.file(), o.dataBegin(), got, 0, got.length);
                }
                assertArrayEquals(expected, got, in + " -> " + out);
                assertEquals(Files.size(f), res.length());
                MomentAccumulator m = res.written().get("w");
                assertEquals(expectedMoments.mean(), m.mean(), 1e-15, in + " -> " + out + " mean");
                assertEquals(expectedMoments.stdSample(), m.stdSample(), 1e-12 * expectedMoments.stdSample(), in + " -> " + out + " std");
            }
        }
    }
}
