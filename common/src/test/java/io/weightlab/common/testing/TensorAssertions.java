package io.weightlab.common.testing;

import io.weightlab.common.io.Checkpoint;
import io.weightlab.common.io.RangeReader;
import io.weightlab.common.model.TensorInfo;
import org.apache.hadoop.conf.Configuration;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tensor-for-tensor equality of two checkpoints: names, dtypes, shapes and data bytes. */
public final class TensorAssertions {
    private TensorAssertions() {}

    public static void assertSameTensors(Checkpoint expected, Checkpoint actual) {
        List<String> en = expected.tensors().stream().map(TensorInfo::name).sorted().toList();
        List<String> an = actual.tensors().stream().map(TensorInfo::name).sorted().toList();
        assertEquals(en, an, "tensor names differ");
        try (RangeReader r = new RangeReader(new Configuration())) {
            for (TensorInfo e : expected.tensors()) {
                TensorInfo a = actual.tensor(e.name());
                assertEquals(e.dtype(), a.dtype(), e.name() + " dtype");
                assertEquals(Arrays.toString(e.shape()), Arrays.toString(a.shape()), e.name() + " shape");
                assertEquals(e.byteLength(), a.byteLength(), e.name() + " bytes");
                for (long off = 0; off < e.byteLength(); off += 8 << 20) {
                    int n = (int) Math.min(8 << 20, e.byteLength() - off);
                    assertArrayEquals(r.read(e.file(), e.dataBegin() + off, n), r.read(a.file(), a.dataBegin() + off, n),
                            e.name() + " data bytes at " + off);
                }
            }
        }
    }
}
