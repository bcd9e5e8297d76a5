package io.weightlab.common.transform;

import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.DType;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.transform.WidthExpandAction.Axis;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A 3×4 float32 reader widened to 4×10 (two residual copies, a residue of 2, one new row): the two shares of each
 * input sum to the source weight (1e-12) yet differ, free positions are drawn, σ = 0 gives equal halves exactly, and
 * the values do not depend on how the tensor is sliced.
 */
public class WidthExpandActionTest {
    private static final int[] COLS = {0, 1, 2, 3, 0, 1, 2, 3, -1, -1};

    private static double[] run(TensorInfo src, double splitNoise, int piece) {
        WidthExpandAction a = new WidthExpandAction(src, new Axis(new int[] {0, 1, 2, -1}, false, 0, 0.3), new Axis(COLS, true, 0, 0.5), 1, splitNoise, 11, "w");
        double[] out = new double[40];
        try (RangeReader r = new RangeReader(new Configuration())) {
            a.open(r);
            for (int first = 0; first < 40; first += piece) {
                int n = Math.min(piece, 40 - first);
                double[] part = new double[n];
                a.apply(first, part, n);
                System.arraycopy(part, 0, out, first, n);
            }
        }
        return out;
    }

    @Test
    void sharesSumToTheSourceAndDiffer(@TempDir Path tmp) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 12; i++) b.putFloat(i + 1);
        Path f = tmp.resolve("w.bin");
        Files.write(f, b.array());
        TensorInfo src = new TensorInfo("w", DType.F32, new long[] {3, 4}, f.toUri().toString(), 0, 48);

        double[] w = run(src, 0.1, 40);
        for (int r = 0; r < 3; r++) {
            for (int j = 0; j < 4; j++) {
                double w0 = w[r * 10 + j], w1 = w[r * 10 + 4 + j];
                assertEquals(r * 4 + j + 1, w0 + w1, 1e-12, "shares of (" + r + "," + j + ")");
                assertNotEquals(w0, w1);
            }
            assertNotEquals(0.0, w[r * 10 + 8]);
        }
        for (int c = 0; c < 10; c++) assertNotEquals(0.0, w[30 + c], "new row drawn");
        assertArrayEquals(w, run(src, 0.1, 3), 0.0, "slicing");
        assertArrayEquals(w, run(src, 0.1, 7), 0.0, "slicing");

        double[] equal = run(src, 0, 40);
        for (int r = 0; r < 3; r++) for (int j = 0; j < 4; j++) assertEquals((r * 4 + j + 1) / 2.0, equal[r * 10 + 4 + j], 0.0);
    }
}
