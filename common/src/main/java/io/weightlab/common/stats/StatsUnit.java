package io.weightlab.common.stats;

import io.weightlab.common.io.Dequantization;
import io.weightlab.common.model.TensorInfo;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A slice of one tensor for an executor: elements {@code [firstElement, endElement)}, aligned to whole rows
 * whenever a row fits the byte budget. {@code dequantization} is null for tensors analysed as stored.
 */
public record StatsUnit(TensorInfo tensor, long firstElement, long endElement, int sliceIndex,
                        Dequantization dequantization) implements Serializable {

    public long byteBegin() {
        return tensor.dataBegin() + tensor.dtype().byteLength(firstElement);
    }

    public long byteLength() {
        return tensor.dtype().byteLength(endElement - firstElement);
    }

    /** Splits a tensor into slices of at most {@code maxBytes} (row-aligned when a row fits). */
    public static List<StatsUnit> slice(TensorInfo t, long maxBytes, Dequantization dq) {
        List<StatsUnit> out = new ArrayList<>();
        long n = t.elementCount();
        int size = Math.max(1, t.dtype().byteSize());
        long perSlice = Math.max(1, maxBytes / size);
        long row = Math.max(1, t.rowElements());
        if (row <= perSlice) perSlice = perSlice / row * row;
        if (n == 0) {
            out.add(new StatsUnit(t, 0, 0, 0, dq));
            return out;
        }
        int idx = 0;
        for (long e = 0; e < n; e += perSlice) out.add(new StatsUnit(t, e, Math.min(n, e + perSlice), idx++, dq));
        return out;
    }
}
