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
import static org.junit.jupiter.api.Assertions.assertTrue;

class ElementDecoderTest {

    /** Every bit pattern of every 8/16-bit float format against numpy/ml_dtypes: bit-exact, NaN for NaN. */
    @Test
    void everyCodeOfTheSmallFloatFormatsMatchesNumpy(@TempDir Path dir) throws IOException {
        Python.require("numpy", "ml_dtypes");
        Python.script(Python.testScript("decode_tables.py"), dir.toString());
        for (DType t : new DType[] {DType.F16, DType.BF16, DType.F8_E4M3, DType.F8_E5M2}) {
            double[] expected = readF64(dir.resolve(t.name() + ".f64"));
            int codes = 1 << t.bits();
            assertEquals(codes, expected.length);
            byte[] raw = new byte[codes * t.byteSize()];
            for (int c = 0; c < codes; c++) {
                raw[c * t.byteSize()] = (byte) c;
                if (t.byteSize() == 2) raw[c * 2 + 1] = (byte) (c >>> 8);
            }
            double[] got = new double[codes];
            ElementDecoder.decode(t, raw, 0, codes, got, 0);
            for (int c = 0; c < codes; c++) {
                if (Double.isNaN(expected[c])) {
                    assertTrue(Double.isNaN(got[c]), t + " code " + c + " should be NaN");
                } else {
                    assertEquals(Double.doubleToRawLongBits(expected[c]), Double.doubleToRawLongBits(got[c]),
                            t + " code 0x" + Integer.toHexString(c) + ": expected " + expected[c] + " got " + got[c]);
                }
            }
        }
    }

    /** Closed forms from the OCP FP8 spec, independent of numpy. */
    @Test
    void fp8ClosedForms() {
        assertEquals(448.0, ElementDecoder.e4m3ToFloat(0x7e));
        assertTrue(Float.isNaN(ElementDecoder.e4m3ToFloat(0x7f)));
        assertEquals(Math.scalb(1.0, -9), ElementDecoder.e4m3ToFloat(0x01));
        assertEquals(57344.0, ElementDecoder.e5m2ToFloat(0x7b));
        assertEquals(Float.POSITIVE_INFINITY, ElementDecoder.e5m2ToFloat(0x7c));
        assertEquals(-0.0f, ElementDecoder.e4m3ToFloat(0x80));
        assertEquals(65504.0, ElementDecoder.halfToFloat(0x7bff));
        assertEquals(Math.scalb(1.0, -24), ElementDecoder.halfToFloat(0x0001));
    }

    @Test
    void integersAndUnsignedWideTypes() {
        byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        assertEquals(18446744073709551615.0, ElementDecoder.decodeOne(DType.U64, b, 0));
        assertEquals(-1.0, ElementDecoder.decodeOne(DType.I64, b, 0));
        assertEquals(4294967295.0, ElementDecoder.decodeOne(DType.U32, b, 0));
        assertEquals(65535.0, ElementDecoder.decodeOne(DType.U16, b, 0));
        assertEquals(-1.0, ElementDecoder.decodeOne(DType.I8, b, 0));
        assertEquals(255.0, ElementDecoder.decodeOne(DType.U8, b, 0));
        assertEquals(1.0, ElementDecoder.decodeOne(DType.BOOL, b, 0));
    }

    static double[] readF64(Path p) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        double[] d = new double[bb.remaining() / 8];
        for (int i = 0; i < d.length; i++) d[i] = bb.getDouble();
        return d;
    }
}
