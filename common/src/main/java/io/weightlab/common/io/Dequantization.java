package io.weightlab.common.io;

import io.weightlab.common.error.CheckpointFormatException;

import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;

/**
 * How a quantized weight becomes real numbers: w = (q - zero_point) * scale, with the scale per tensor, per row
 * (per output channel of a [out, in] Linear), per column, or per 2-D block (FP8 {@code weight_scale_inv}).
 * The side tensors are small; executors read them next to the slice they dequantize.
 */
public final class Dequantization implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Granularity { TENSOR, ROW, COLUMN, BLOCK }

    private final TensorInfo scale;
    private final TensorInfo zeroPoint;
    private final Granularity granularity;
    private final int blockRows;
    private final int blockCols;

    private transient double[] scaleValues;
    private transient double[] zeroValues;

    private Dequantization(TensorInfo scale, TensorInfo zeroPoint, Granularity g, int blockRows, int blockCols) {
        this.scale = scale;
        this.zeroPoint = zeroPoint;
        this.granularity = g;
        this.blockRows = blockRows;
        this.blockCols = blockCols;
    }

    public TensorInfo scale() { return scale; }

    public TensorInfo zeroPoint() { return zeroPoint; }

    public Granularity granularity() { return granularity; }

    /**
     * Finds, for every quantized weight, its side tensors ({@code X_scale}/{@code X_zero_point} as ONNX and
     * many exporters write them, or FP8 {@code X_scale_inv}). {@code blockSize} comes from config.json's
     * {@code quantization_config.weight_block_size} (default 128).
     */
    public static Map<String, Dequantization> pair(Checkpoint ckpt, int[] blockSize) {
        Map<String, Dequantization> out = new HashMap<>();
        for (TensorInfo w : ckpt.tensors()) {
            TensorName tn = TensorName.parse(w.name());
            if (tn.role() == ModuleKind.Role.QUANTIZATION) continue;
            TensorInfo scale = ckpt.tensor(w.name() + "_scale");
            if (scale == null) scale = ckpt.tensor(w.name() + "_scale_inv");
            TensorInfo zp = ckpt.tensor(w.name() + "_zero_point");
            if (scale == null) continue;
            if (!scale.dtype().isFloatingPoint()) {
                throw new CheckpointFormatException(scale.file(), scale.name(), "InvalidQuantization", "scale must be floating point, is " + scale.dtype());
            }
            out.put(w.name(), of(w, scale, zp, blockSize));
        }
        return out;
    }

    static Dequantization of(TensorInfo w, TensorInfo scale, TensorInfo zp, int[] blockSize) {
        long sn = scale.elementCount();
        long rows = w.rows();
        long cols = w.rowElements();
        Granularity g;
        int br = 0, bc = 0;
        if (sn == 1) g = Granularity.TENSOR;
        else if (scale.rank() == 1 && sn == rows) g = Granularity.ROW;
        else if (scale.rank() == 1 && sn == cols) g = Granularity.COLUMN;
        else if (scale.rank() == 2 && w.rank() == 2) {
            br = blockSize[0];
            bc = blockSize[1];
            if (ceilDiv(rows, br) != scale.dim(0) || ceilDiv(cols, bc) != scale.dim(1)) {
                throw new CheckpointFormatException(scale.file(), scale.name(), "InvalidQuantization", "block scales "
                        + scale.shapeString() + " do not tile weight " + w.shapeString() + " in " + br + "x" + bc + " blocks");
            }
            g = Granularity.BLOCK;
        } else {
            throw new CheckpointFormatException(scale.file(), scale.name(), "InvalidQuantization", "scale shape "
                    + scale.shapeString() + " fits neither the tensor, its rows, its columns nor blocks of weight " + w.shapeString());
        }
        if (zp != null && zp.elementCount() != sn) {
            throw new CheckpointFormatException(zp.file(), zp.name(), "InvalidQuantization",
                    "zero point has " + zp.elementCount() + " elements, the scale " + sn);
        }
        return new Dequantization(scale, zp, g, br, bc);
    }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    /** Reads the side tensors (small) once per task. */
    public void load(RangeReader reader) {
        if (scaleValues != null) return;
        scaleValues = readAll(reader, scale);
        zeroValues = zeroPoint == null ? null : readAll(reader, zeroPoint);
    }

    private static double[] readAll(RangeReader reader, TensorInfo t) {
        int n = Math.toIntExact(t.elementCount());
        byte[] b = reader.read(t.file(), t.dataBegin(), Math.toIntExact(t.byteLength()));
        double[] v = new double[n];
        ElementDecoder.decode(t.dtype(), b, 0, n, v, 0);
        return v;
    }

    /**
     * Dequantizes {@code values[0..count)} in place; they are elements {@code firstElement..} of a tensor whose
     * rows hold {@code rowElements} elements.
     */
    public void apply(double[] values, int count, long firstElement, long rowElements) {
        switch (granularity) {
            case TENSOR -> {
                double s = scaleValues[0], z = zeroValues == null ? 0 : zeroValues[0];
                for (int i = 0; i < count; i++) values[i] = (values[i] - z) * s;
            }
            case ROW, COLUMN, BLOCK -> {
                for (int i = 0; i < count; i++) {
                    long e = firstElement + i;
                    long r = e / rowElements, c = e - r * rowElements;
                    int k = switch (granularity) {
                        case ROW -> (int) r;
                        case COLUMN -> (int) c;
                        default -> (int) ((r / blockRows) * ceilDiv(rowElements, blockCols) + c / blockCols);
                    };
                    double z = zeroValues == null ? 0 : zeroValues[k];
                    values[i] = (values[i] - z) * scaleValues[k];
                }
            }
            default -> throw new IllegalStateException();
        }
    }
}
