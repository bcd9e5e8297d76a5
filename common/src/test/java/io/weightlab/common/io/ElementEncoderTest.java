package io.weightlab.common.io;

import io.weightlab.common.model.DType;

import io.weightlab.common.testing.Python;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** fp32 → bf16/f16 rounding against numpy and ml_dtypes (round to nearest even) on ~5M bit patterns, ties included. */
class ElementEncoderTest {

    @Test
    void roundsExactlyAsNumpyAndMlDtypes(@TempDir Path tmp) throws IOException {
        Python.require("numpy", "ml_dtypes");
        Python.script(Python.testScript("encode_reference.py"), tmp.toString());
        int[] in = ints(Files.readAllBytes(tmp.resolve("inputs.u32")));
        short[] f16 = shorts(Files.readAllBytes(tmp.resolve("f16.u16")));
        short[] bf16 = shorts(Files.readAllBytes(tmp.resolve("bf16.u16")));
        assertEquals(in.length, f16.length);
        int bad16 = 0, badBf = 0;
        for (int i = 0; i < in.length; i++) {
            float f = Float.intBitsToFloat(in[i]);
            if (ElementEncoder.floatToHalf(f) != f16[i] && bad16++ < 5) {
                System.err.printf("f16 %08x: ours %04x numpy %04x%n", in[i], ElementEncoder.floatToHalf(f), f16[i]);
            }
            if (ElementEncoder.floatToBf16(f) != bf16[i] && badBf++ < 5) {
                System.err.printf("bf16 %08x: ours %04x ml_dtypes %04x%n", in[i], ElementEncoder.floatToBf16(f), bf16[i]);
            }
        }
        if (bad16 + badBf > 0) fail(bad16 + " f16 and " + badBf + " bf16 encodings differ from the reference out of " + in.length);
    }

    @Test
    void nanBecomesTorchsCanonicalNaN() {
        assertEquals((short) 0x7FC0, ElementEncoder.floatToBf16(Float.intBitsToFloat(0xFFC12345)));
        assertEquals((short) 0x7E00, ElementEncoder.floatToHalf(Float.intBitsToFloat(0x7F800001)));
        assertEquals((short) 0xFE00, ElementEncoder.floatToHalf(Float.intBitsToFloat(0xFFC00000)));
    }

    @Test
    void decodeOfEncodeIsIdentityOnEveryHalfAndBf16() {
        byte[] b = new byte[2];
        for (int h = 0; h < 65536; h++) {
            for (DType t : new DType[] {DType.F16, DType.BF16}) {
                b[0] = (byte) h;
                b[1] = (byte) (h >>> 8);
                double v = ElementDecoder.decodeOne(t, b, 0);
                if (Double.isNaN(v)) continue;
                byte[] back = new byte[2];
                ElementEncoder.encode(t, new double[] {v}, 0, 1, back, 0);
                assertEquals(h, (back[0] & 0xff) | (back[1] & 0xff) << 8, t + " code " + Integer.toHexString(h));
            }
        }
    }

    private static int[] ints(byte[] b) {
        int[] out = new int[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        return out;
    }

    private static short[] shorts(byte[] b) {
        short[] out = new short[b.length / 2];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(out);
        return out;
    }
}
