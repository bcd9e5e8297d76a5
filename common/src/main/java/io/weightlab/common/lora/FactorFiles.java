package io.weightlab.common.lora;

import io.weightlab.common.io.RangeReader;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The scratch file of one module's factors between the task that computes them and the writers: A then B, raw float32 LE. */
public final class FactorFiles {
    private FactorFiles() {}

    public static long length(int r, int in, int out) {
        return 4L * r * in + 4L * out * r;
    }

    public static void write(OutputStream os, LoraFactors f) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) length(f.r(), f.in(), f.out())).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(f.a()).put(f.b());
        os.write(buf.array());
    }

    /** {A [r, in], B [out, r]}. */
    public static float[][] read(RangeReader reader, String file, int r, int in, int out) {
        byte[] bytes = new byte[(int) length(r, in, out)];
        reader.read(file, 0, bytes, 0, bytes.length);
        var fb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] a = new float[r * in], b = new float[out * r];
        fb.get(a).get(b);
        return new float[][] {a, b};
    }
}
