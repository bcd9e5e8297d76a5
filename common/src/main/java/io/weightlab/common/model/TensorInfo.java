package io.weightlab.common.model;


import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a checkpoint as its header describes it: name, dtype, shape, and where its bytes are
 * ({@code file}, absolute byte range {@code [dataBegin, dataEnd)} within that file).
 */
public final class TensorInfo implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final String file;
    private final long dataBegin;
    private final long dataEnd;

    public TensorInfo(String name, DType dtype, long[] shape, String file, long dataBegin, long dataEnd) {
        this.name = Objects.requireNonNull(name);
        this.dtype = Objects.requireNonNull(dtype);
        this.shape = shape.clone();
        this.file = file;
        this.dataBegin = dataBegin;
        this.dataEnd = dataEnd;
    }

    public String name() { return name; }

    public DType dtype() { return dtype; }

    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long dim(int i) { return shape[i]; }

    /** URI of the file that holds the bytes. */
    public String file() { return file; }

    public long dataBegin() { return dataBegin; }

    public long dataEnd() { return dataEnd; }

    public long byteLength() { return dataEnd - dataBegin; }

    /** Product of the shape (1 for a 0-d scalar); validated against overflow when the header was read. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Elements in one row: the product of all but the first dimension (1 for 0-d and 1-d tensors). */
    public long rowElements() {
        long n = 1;
        for (int i = 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    /** Number of rows: the first dimension, or 1 for a 0-d scalar. */
    public long rows() {
        return shape.length == 0 ? 1 : shape[0];
    }

    /** The shape as the output tables write it (docs/schema.md: a list of integers). */
    public java.util.List<Long> shapeList() {
        return java.util.Arrays.stream(shape).boxed().toList();
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorInfo t)) return false;
        return name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && Objects.equals(file, t.file) && dataBegin == t.dataBegin && dataEnd == t.dataEnd;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), file, dataBegin, dataEnd);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString() + " @" + file + "[" + dataBegin + "," + dataEnd + ")";
    }
}
