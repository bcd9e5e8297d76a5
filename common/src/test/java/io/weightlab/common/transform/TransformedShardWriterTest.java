package io.weightlab.common.transform;

import io.weightlab.common.io.CheckpointCatalog;
import io.weightlab.common.model.DType;
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

    /**
     * Slices an earlier stage encoded in the output dtype (uneven sizes, values near rounding ties, subnormals):
     * the writer's copy gives the bytes of encoding the whole tensor at once, and a writer asked for another dtype
     * (F64) gets the decoded slice values, exactly.
     */
    @Test
    void encodedSlicesAreCopiedAsTheWholeTensorsEncoding(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        int n = (int) (2.6 * TransformedShardWriter.PIECE_ELEMENTS) + 17;
        SplittableRandom rng = new SplittableRandom(11);
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = switch (i % 5) {
                case 0 -> 0.02 * rng.nextGaussian();
                case 1 -> Math.scalb(1 + 0x1p-8 * (1 + 2 * rng.nextInt(64)) / 2, rng.nextInt(-20, 20)); // halfway between bf16 codes
                case 2 -> 1e-42 * rng.nextDouble(); // subnormal in float32
                default -> rng.nextDouble() - 0.5;
            };
        }
        long[] firsts = {0, 1_000_003, 2_000_000};
        int[] counts = {1_000_003, 999_997, n - 2_000_000};
        for (DType out : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            String[] files = new String[firsts.length];
            for (int i = 0; i < files.length; i++) {
                Path f = dir.resolve("slice-" + out + "-" + i);
                try (OutputStream os = Files.newOutputStream(f)) {
                    EncodedSlicesAction.write(os, out, java.util.Arrays.copyOfRange(y, (int) firsts[i], (int) firsts[i] + counts[i]));
                }
                files[i] = f.toString();
            }
            byte[] whole = new byte[n * out.byteSize()];
            ElementEncoder.encode(out, y, 0, n, whole, 0);
            double[] decoded = new double[n];
            ElementDecoder.decode(out, whole, 0, n, decoded, 0);
            byte[] asF64 = new byte[n * 8];
            ElementEncoder.encode(DType.F64, decoded, 0, n, asF64, 0);
            for (DType written : new DType[] {out, DType.F64}) {
                EncodedSlicesAction action = new EncodedSlicesAction(out, files, firsts, counts, "slices");
                Path f = dir.resolve("out-" + out + "-as-" + written + ".safetensors");
                try (RangeReader r = new RangeReader(conf); OutputStream os = Files.newOutputStream(f)) {
                    TransformedShardWriter.write(r, os, f.toString(),
                            List.of(TransformPlanner.Planned.computed("w", written, new long[] {n}, "slices", action, "test")), Map.of("format", "pt"));
                }
                TensorInfo o = CheckpointCatalog.open(conf, f.toString()).tensors().get(0);
                byte[] got = new byte[(int) o.byteLength()];
                try (RangeReader r = new RangeReader(conf)) {
                    r.read(o.file(), o.dataBegin(), got, 0, got.length);
                }
                assertArrayEquals(written == out ? whole : asF64, got, out + " slices written as " + written);
            }
        }
    }

    /** Position-dependent and parallel-safe: x + 1e-3·((index mod 7) − 3). */
    record ShiftAction() implements TensorAction {
        @Override public boolean needsInput() { return true; }
        @Override public boolean parallelSafe() { return true; }
        @Override public void apply(long first, double[] values, int count) {
            for (int i = 0; i < count; i++) values[i] += 1e-3 * ((first + i) % 7 - 3);
        }
        @Override public String describe() { return "x + 1e-3 * (i mod 7 - 3)"; }
    }

    /**
     * A parallel-safe action over a tensor of 3.3 pieces, on 1 and on 3 threads: the same bytes as the per-element
     * computation, and the very same moments (pieces are merged in order whatever the thread count).
     */
    @Test
    void parallelPiecesGiveTheSameBytesAndMoments(@TempDir Path dir) throws IOException {
        Configuration conf = new Configuration();
        int n = (int) (3.3 * TransformedShardWriter.PIECE_ELEMENTS);
        SplittableRandom rng = new SplittableRandom(5);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) (0.02 * rng.nextGaussian());
        byte[] bytes = new byte[n * 4];
        ElementEncoder.encode(DType.F32, v, 0, n, bytes, 0);
        Path in = dir.resolve("big.safetensors");
        try (OutputStream os = Files.newOutputStream(in);
             SafetensorsWriter w = new SafetensorsWriter(os, SafetensorsLayout.of(List.of(new SafetensorsLayout.Spec("w", DType.F32, new long[] {n})), null), "in")) {
            w.write(bytes);
        }
        TensorInfo t = CheckpointCatalog.open(conf, in.toString()).tensors().get(0);
        new ShiftAction().apply(0, v, n);
        byte[] expected = new byte[n * 2];
        ElementEncoder.encode(DType.BF16, v, 0, n, expected, 0);
        MomentAccumulator reference = new MomentAccumulator();
        reference.addBlock(v, 0, n);
        MomentAccumulator first = null;
        for (int threads : new int[] {1, 3}) {
            Path f = dir.resolve("out-" + threads + ".safetensors");
            TransformedShardWriter.ShardResult res;
            try (RangeReader r = new RangeReader(conf); OutputStream os = Files.newOutputStream(f)) {
                res = TransformedShardWriter.write(r, os, f.toString(),
                        List.of(new TransformPlanner.Planned(t, "w=shift", new ShiftAction(), "test", DType.BF16)), Map.of("format", "pt"), threads);
            }
            TensorInfo o = CheckpointCatalog.open(conf, f.toString()).tensors().get(0);
            byte[] got = new byte[(int) o.byteLength()];
            try (RangeReader r = new RangeReader(conf)) {
                r.read(o.file(), o.dataBegin(), got, 0, got.length);
            }
            assertArrayEquals(expected, got, threads + " thread(s)");
            MomentAccumulator m = res.written().get("w");
            assertEquals(reference.mean(), m.mean(), 1e-12 * Math.abs(reference.mean()) + 1e-18, threads + " thread(s): mean");
            assertEquals(reference.m2(), m.m2(), 1e-12 * reference.m2(), threads + " thread(s): m2");
            if (first == null) first = m;
            else {
                assertEquals(first.mean(), m.mean(), 0.0, "the same mean on 1 and 3 threads");
                assertEquals(first.m2(), m.m2(), 0.0, "the same m2 on 1 and 3 threads");
                assertEquals(first.m4(), m.m4(), 0.0, "the same m4 on 1 and 3 threads");
            }
        }
    }
}
